"""factory_boy factories. They create through the services, as the application does."""

import itertools
from datetime import datetime
from typing import TYPE_CHECKING, Any

import factory

from accounts import services
from accounts.models import User
from core.roles import Role

if TYPE_CHECKING:
    from scheduling.models import Appointment

PASSWORD = "Corr3ct-Horse-Battery"
_email_numbers = itertools.count()


class _ServiceFactory(factory.Factory):
    class Meta:
        abstract = True

    # One counter for every factory, so a patient and a doctor never share an email.
    email = factory.LazyFunction(lambda: f"person{next(_email_numbers)}@example.test")
    password = PASSWORD
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class PatientFactory(_ServiceFactory):
    class Meta:
        model = User

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> User:
        return services.patient_register(**kwargs)


class DoctorFactory(_ServiceFactory):
    class Meta:
        model = User

    specialization = "General Practice"
    qualifications = "MD"
    experience_years = 7
    approved = True

    @classmethod
    def _create(cls, model_class: type, approved: bool = True, **kwargs: Any) -> User:
        user = services.doctor_register(**kwargs)
        if approved:
            services.doctor_approve(actor=None, doctor=user.doctor)
            user.doctor.refresh_from_db()
        return user


class StaffFactory(_ServiceFactory):
    class Meta:
        model = User

    role = Role.STAFF

    @classmethod
    def _create(cls, model_class: type, **kwargs: Any) -> User:
        return services.user_create(actor=None, **kwargs)


class AdminFactory(StaffFactory):
    role = Role.ADMIN


def appointment_at(
    *,
    doctor: User,
    patient: User,
    start: datetime,
    minutes: int = 30,
    status: str = "booked",
) -> "Appointment":
    """An appointment (and its slot) at `start`, in any status, for test set-up.

    Written straight to the tables so tests of records, billing and notifications can
    stand on a known appointment; booking behaviour itself is tested through
    `scheduling.services`.
    """
    from datetime import timedelta

    from scheduling.models import ACTIVE_STATUSES, Appointment, Slot, SlotStatus

    end = start + timedelta(minutes=minutes)
    slot = Slot.objects.create(
        doctor=doctor.doctor,
        start=start,
        end=end,
        status=SlotStatus.BOOKED if status in ACTIVE_STATUSES else SlotStatus.FREE,
    )
    return Appointment.objects.create(
        doctor=doctor.doctor, patient=patient.patient, slot=slot, start=start, end=end, status=status
    )

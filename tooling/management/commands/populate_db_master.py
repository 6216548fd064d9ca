"""`python manage.py populate_db_master`: the demo clinic, safe to run again and again."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import demo, services
from accounts.models import Doctor, User
from core.roles import Role
from scheduling.demo import demo_availability_ensure


class Command(BaseCommand):
    help = "Create the demo clinic (idempotent): an admin, reception, five doctors with weekday slots, twenty patients."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        admin = self._ensure(role=Role.ADMIN, **demo.ADMIN)
        self._ensure(role=Role.STAFF, **demo.RECEPTION)
        doctors = []
        for spec in demo.DOCTORS:
            user = User.objects.filter(email=spec["email"]).first()
            if user is None:
                user = services.doctor_register(
                    password=demo.DEMO_PASSWORD,
                    qualifications="MD",
                    experience_years=10,
                    **spec,
                )
            doctors.append(services.doctor_approve(actor=admin, doctor=Doctor.objects.get(user=user)))
        for index, (first_name, last_name) in enumerate(demo.PATIENT_NAMES):
            email = demo.patient_email(index)
            if not User.objects.filter(email=email).exists():
                services.patient_register(
                    email=email, password=demo.DEMO_PASSWORD, first_name=first_name, last_name=last_name
                )
        demo_availability_ensure(actor=admin, doctors=doctors)
        self.stdout.write(self.style.SUCCESS("Demo clinic ready."))
        self.stdout.write(f"  admin      {demo.ADMIN['email']}")
        self.stdout.write(f"  reception  {demo.RECEPTION['email']}")
        self.stdout.write(f"  doctors    {', '.join(d['email'] for d in demo.DOCTORS)}")
        self.stdout.write(f"  patients   {demo.patient_email(0)} … {demo.patient_email(len(demo.PATIENT_NAMES) - 1)}")
        self.stdout.write(f"  password   {demo.DEMO_PASSWORD} (all demo accounts)")

    def _ensure(self, *, role: str, email: str, first_name: str, last_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = services.user_create(
                actor=None,
                email=email,
                password=demo.DEMO_PASSWORD,
                first_name=first_name,
                last_name=last_name,
                role=role,
            )
        return user

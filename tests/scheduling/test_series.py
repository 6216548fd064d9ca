"""Recurring series (contract §12): all or nothing, ordinary appointments, wall-clock time kept."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from audit.models import AuditLog
from clinic.clock import clinic_timezone, clinic_today
from notifications.models import Notification
from realtime.models import Event
from scheduling import services
from scheduling.models import Appointment, AppointmentSeries, Slot, SlotStatus
from tests import factories
from tests.assertions import assert_error
from tests.concurrency import run_together
from tests.scheduling.helpers import set_policy

SERIES = "/api/appointments/series/"


def _first_day():
    # Two clinic days ahead: its 09:00 is in the future at any hour in any clinic time zone.
    return clinic_today() + timedelta(days=2)


def _at(day, hour=9, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=clinic_timezone())


def _weekly_hours(doctor, actor, *, horizon=100):
    """09:00-11:00, 30-minute slots, on the weekday of the first day (cheap: one day a week)."""
    set_policy("booking_horizon_days", horizon)
    services.rule_create(
        actor=actor,
        doctor=doctor.doctor,
        weekday=_first_day().weekday(),
        start_time=time(9),
        end_time=time(11),
        slot_minutes=30,
    )


def _body(doctor, start, every="week", count=4, **extra):
    return {"doctor": doctor.doctor.id, "start": start.isoformat(), "every": every, "count": count, **extra}


@pytest.fixture
def weekly(db, carol, ada):
    _weekly_hours(carol, ada)
    return carol


@pytest.mark.django_db
def test_a_patient_books_a_weekly_series(client_for, alice, weekly, django_capture_on_commit_callbacks):
    first = _at(_first_day())
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(SERIES, _body(weekly, first, reason="Physio"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    series = AppointmentSeries.objects.get(pk=body["series"])
    starts = [datetime.fromisoformat(a["start"]) for a in body["appointments"]]
    assert starts == [first + timedelta(weeks=n) for n in range(4)]
    assert {a["series"] for a in body["appointments"]} == {series.pk}
    assert {a["reason"] for a in body["appointments"]} == {"Physio"}
    assert {a["patient"] for a in body["appointments"]} == {alice.patient.id}
    ids = [a["id"] for a in body["appointments"]]
    # Each occurrence is an ordinary booking: its slot, its audit entry, its event, its notification.
    assert Slot.objects.filter(appointments__in=ids, status=SlotStatus.BOOKED).count() == 4
    assert AuditLog.objects.filter(action="appointment.booked", object_id__in=[str(i) for i in ids]).count() == 4
    assert Event.objects.filter(name="slot.booked").count() == 4
    assert Notification.objects.filter(appointment_id__in=ids, kind__contains="booked").count() >= 4
    assert AuditLog.objects.get(action="appointment_series.booked").details["count"] == 4
    listed = client_for(alice).get(f"/api/appointments/{ids[0]}/").json()
    assert listed["series"] == series.pk


@pytest.mark.django_db
def test_a_series_of_video_visits(client_for, alice, weekly):
    response = client_for(alice).post(SERIES, _body(weekly, _at(_first_day()), count=2, visit_type="video"))
    assert response.status_code == 201, response.json()
    assert {a["visit_type"] for a in response.json()["appointments"]} == {"video"}
    assert AuditLog.objects.get(action="appointment_series.booked").details["visit_type"] == "video"


@pytest.mark.django_db
@pytest.mark.parametrize("every", ["2weeks", "4weeks"])
def test_every_two_or_four_weeks(client_for, rita, alice, weekly, every):
    first = _at(_first_day())
    response = client_for(rita).post(SERIES, _body(weekly, first, every=every, count=3, patient=alice.patient.id))
    assert response.status_code == 201, response.json()
    weeks = {"2weeks": 2, "4weeks": 4}[every]
    starts = [datetime.fromisoformat(a["start"]) for a in response.json()["appointments"]]
    assert starts == [first + timedelta(weeks=weeks * n) for n in range(3)]


@pytest.mark.django_db
def test_a_series_whose_third_occurrence_is_taken_books_nothing_and_names_it(client_for, alice, bob, weekly):
    first = _at(_first_day())
    third = first + timedelta(weeks=2)
    services.appointment_book(actor=bob, doctor=weekly.doctor, start=third)
    events_before = Event.objects.count()

    response = client_for(alice).post(SERIES, _body(weekly, first), format="json")

    body = assert_error(response, 409, "slot_unavailable")
    assert [datetime.fromisoformat(c) for c in body["conflicts"]] == [third]
    assert not Appointment.objects.filter(patient=alice.patient).exists()
    assert not AppointmentSeries.objects.exists()
    assert Slot.objects.filter(doctor=weekly.doctor, status=SlotStatus.BOOKED).count() == 1
    assert Event.objects.count() == events_before
    assert not AuditLog.objects.filter(action__startswith="appointment_series").exists()


@pytest.mark.django_db
def test_every_conflict_is_listed(client_for, alice, bob, dave, ada, weekly):
    first = _at(_first_day())
    services.appointment_book(actor=bob, doctor=weekly.doctor, start=first + timedelta(weeks=1))
    # alice is busy with another doctor at the fourth occurrence: that start is a conflict too.
    services.rule_create(
        actor=ada, doctor=dave.doctor, weekday=first.weekday(), start_time=time(9), end_time=time(10), slot_minutes=30
    )
    services.appointment_book(actor=alice, doctor=dave.doctor, start=first + timedelta(weeks=3))
    # And the sixth falls beyond a 30-day horizon.
    set_policy("booking_horizon_days", 30)
    services.slots_regenerate(doctor=weekly.doctor)

    response = client_for(alice).post(SERIES, _body(weekly, first, count=6), format="json")

    body = assert_error(response, 409, "slot_unavailable")
    conflicts = [datetime.fromisoformat(c) for c in body["conflicts"]]
    expected = [first + timedelta(weeks=n) for n in (1, 3, 5)]
    if first + timedelta(weeks=4) >= services.horizon_end():
        expected = [first + timedelta(weeks=n) for n in (1, 3, 4, 5)]
    assert conflicts == expected
    assert Appointment.objects.filter(patient=alice.patient).count() == 1


@pytest.mark.django_db
def test_a_series_across_a_dst_change_keeps_its_wall_clock_time(client_for, rita, alice, carol, ada):
    set_policy("timezone", "Europe/London")
    _weekly_hours(carol, ada, horizon=366)
    first = _at(_first_day())
    # Twelve occurrences four weeks apart span 44 weeks: London changes its clocks at least once.
    response = client_for(rita).post(
        SERIES, _body(carol, first, every="4weeks", count=12, patient=alice.patient.id), format="json"
    )
    assert response.status_code == 201, response.json()
    london = ZoneInfo("Europe/London")
    starts = [datetime.fromisoformat(a["start"]) for a in response.json()["appointments"]]
    assert {s.astimezone(london).strftime("%H:%M") for s in starts} == {"09:00"}
    assert {s.astimezone(london).weekday() for s in starts} == {first.weekday()}
    assert {s.utcoffset() for s in starts} == {timedelta(0), timedelta(hours=1)}, "both sides of a change"
    overrides = AuditLog.objects.get(action="appointment_series.booked")
    assert overrides.details["count"] == 12


@pytest.mark.django_db
def test_a_patient_may_not_pass_the_open_appointment_cap_staff_may(client_for, alice, rita, weekly):
    first = _at(_first_day())
    assert_error(
        client_for(alice).post(SERIES, _body(weekly, first, count=6), format="json"), 400, "appointment_limit_reached"
    )
    assert not Appointment.objects.exists()
    response = client_for(rita).post(SERIES, _body(weekly, first, count=6, patient=alice.patient.id), format="json")
    assert response.status_code == 201
    booked = AuditLog.objects.filter(action="appointment.booked")
    assert all(entry.details["overrides"] == ["max_open_appointments"] for entry in booked)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [({"count": 1}, "count"), ({"count": 13}, "count"), ({"every": "day"}, "every"), ({"start": "tomorrow"}, "start")],
)
def test_bad_series_input_is_400(client_for, alice, weekly, change, field):
    body = {**_body(weekly, _at(_first_day())), **change}
    assert_error(client_for(alice).post(SERIES, body, format="json"), 400, "invalid", {field})


@pytest.mark.django_db
def test_a_past_start_is_an_invalid_slot(client_for, alice, weekly):
    past = _at(clinic_today() - timedelta(days=5))
    assert_error(client_for(alice).post(SERIES, _body(weekly, past), format="json"), 400, "invalid_slot")


@pytest.mark.django_db
def test_patients_book_series_only_for_themselves_and_doctors_not_at_all(client_for, alice, bob, weekly):
    body = _body(weekly, _at(_first_day()), patient=bob.patient.id)
    assert_error(client_for(alice).post(SERIES, body, format="json"), 403, "permission_denied")
    assert client_for(weekly).post(SERIES, body, format="json").status_code == 403
    assert not Appointment.objects.exists()


# --- Cancelling a series ---------------------------------------------------------------


def _cancel(client, series_id):
    return client.delete(f"/api/appointments/series/{series_id}/cancel/")


@pytest.mark.django_db
def test_cancelling_a_series_cancels_its_future_booked_occurrences(client_for, alice, rita, weekly, carol):
    booking = services.series_book(actor=alice, doctor=weekly.doctor, start=_at(_first_day()), every="week", count=4)
    first, *rest = booking.appointments
    services.appointment_set_status(actor=rita, appointment=first, status="checked_in")
    response = _cancel(client_for(alice), booking.series.pk)
    assert response.status_code == 200 and response.json() == {"cancelled": 3}
    statuses = dict(Appointment.objects.filter(series=booking.series).values_list("pk", "status"))
    assert statuses == {first.pk: "checked_in", **{a.pk: "cancelled" for a in rest}}
    assert Slot.objects.filter(appointments__in=rest, status=SlotStatus.FREE).count() == 3
    assert Event.objects.filter(name="slot.released").count() == 3
    assert AuditLog.objects.filter(action="appointment.cancelled").count() == 3
    assert AuditLog.objects.get(action="appointment_series.cancelled").details == {"cancelled": 3}
    assert _cancel(client_for(alice), booking.series.pk).json() == {"cancelled": 0}


@pytest.mark.django_db
def test_a_patient_cannot_cancel_online_inside_the_notice_staff_can(client_for, alice, rita, weekly):
    booking = services.series_book(actor=alice, doctor=weekly.doctor, start=_at(_first_day()), every="week", count=3)
    set_policy("patient_cancel_notice_minutes", 3 * 24 * 60)  # the first occurrence is two days away
    assert _cancel(client_for(alice), booking.series.pk).json() == {"cancelled": 2}
    assert Appointment.objects.get(pk=booking.appointments[0].pk).status == "booked"
    assert _cancel(client_for(rita), booking.series.pk).json() == {"cancelled": 1}


@pytest.mark.django_db
def test_another_patients_series_is_404_and_doctors_are_refused(client_for, alice, bob, weekly):
    booking = services.series_book(actor=alice, doctor=weekly.doctor, start=_at(_first_day()), every="week", count=2)
    assert_error(_cancel(client_for(bob), booking.series.pk), 404, "not_found")
    assert _cancel(client_for(weekly), booking.series.pk).status_code == 403
    assert not Appointment.objects.filter(status="cancelled").exists()


# --- Races -----------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="locking is tested on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_racing_series_overlapping_in_one_week_exactly_one_succeeds(client_for, carol, ada):
    _weekly_hours(carol, ada)
    patients = [factories.PatientFactory(), factories.PatientFactory()]
    clients = [client_for(patient) for patient in patients]
    first = _at(_first_day())
    # Weekly from week 0 and from week 3, four each: both want the slot of week 3.
    bodies = [_body(carol, first), _body(carol, first + timedelta(weeks=3))]

    responses = run_together(2, lambda i: clients[i].post(SERIES, bodies[i], format="json"))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.content for r in responses]
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["code"] == "slot_unavailable"
    if "conflicts" in loser:  # absent only when the loser timed out on the lock
        assert [datetime.fromisoformat(c) for c in loser["conflicts"]] == [first + timedelta(weeks=3)]
    assert Appointment.objects.count() == 4 and AppointmentSeries.objects.count() == 1
    assert Slot.objects.filter(doctor=carol.doctor, status=SlotStatus.BOOKED).count() == 4

"""GET /api/doctors/{id}/availability/, the rules and the exceptions (contract §3)."""

from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from clinic.clock import clinic_timezone
from realtime.models import Event
from scheduling import calendar, services
from scheduling.models import AvailabilityRule, Slot, SlotStatus
from scheduling.serializers import clinic_iso
from tests import factories
from tests.clock import clinic_at, clinic_date, clinic_day
from tests.scheduling.helpers import free_slots, set_policy

pytestmark = pytest.mark.django_db


def _url(doctor, tail=""):
    return f"/api/doctors/{doctor.doctor.id}/availability/{tail}"


def _tomorrow():
    return clinic_day(1)


def _slots_on(doctor, day):
    """The doctor's slots on one clinic day."""
    start, end = calendar.day_bounds(day, clinic_timezone())
    return Slot.objects.filter(doctor=doctor.doctor, start__gte=start, start__lt=end)


# --- Availability --------------------------------------------------------------------


def test_availability_lists_a_day_in_time_order(client_for, alice, carol_hours):
    day = _tomorrow()
    response = client_for(alice).get(_url(carol_hours), {"date": day.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert body["doctor"] == carol_hours.doctor.id
    assert body["timezone"] == clinic_timezone().key
    assert len(body["slots"]) == 16
    assert body["slots"][0] == {
        "start": clinic_iso(clinic_at(time(9), days=1)),
        "end": clinic_iso(clinic_at(time(9, 30), days=1)),
        "available": True,
        "bookable": True,
        "reason": None,
    }
    starts = [s["start"] for s in body["slots"]]
    assert starts == sorted(starts)


def test_availability_in_the_clinic_time_zone(client_for, alice, carol, ada, clinic):
    set_policy("timezone", "America/New_York")
    services.rule_create(
        actor=ada, doctor=carol.doctor, weekday=_tomorrow().weekday(), start_time=time(9), end_time=time(10)
    )
    body = client_for(alice).get(_url(carol), {"date": _tomorrow().isoformat()}).json()
    assert body["timezone"] == "America/New_York"
    # New York's offset that day: -05:00 in winter, -04:00 in summer.
    new_york = ZoneInfo("America/New_York")
    walls = [datetime.combine(_tomorrow(), wall, tzinfo=new_york) for wall in (time(9), time(9, 30))]
    assert [s["start"] for s in body["slots"]] == [wall.isoformat() for wall in walls]


def test_booked_and_time_off_slots_are_not_available(client_for, alice, rita, carol_hours):
    # Two slots of one clinic day (the first two free ones from tomorrow on straddle
    # midnight late in the day).
    day = clinic_day(2)
    first, second = [slot for slot in free_slots(carol_hours) if clinic_date(slot.start) == day][:2]
    services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=first.start)
    services.exception_create(actor=rita, doctor=carol_hours.doctor, start=second.start, end=second.end)
    body = client_for(alice).get(_url(carol_hours), {"date": clinic_date(first.start).isoformat()}).json()
    flags = {s["start"]: s["available"] for s in body["slots"]}
    assert flags[clinic_iso(first.start)] is False
    assert flags[clinic_iso(second.start)] is False
    assert sum(flags.values()) == 14


def test_past_slots_are_left_out(client_for, alice, carol, ada, clinic, time_machine):
    # Mid-morning of the clinic's day, so today has past and future slots at any hour.
    time_machine.move_to(clinic_at(time(10, 40)))
    services.rule_create(
        actor=ada, doctor=carol.doctor, weekday=clinic_day().weekday(), start_time=time(0), end_time=time(23, 55)
    )
    Slot.objects.create(
        doctor=carol.doctor, start=timezone.now() - timedelta(minutes=1), end=timezone.now() + timedelta(minutes=4)
    )
    body = client_for(alice).get(_url(carol)).json()
    now = timezone.now()
    assert body["slots"] and body["slots"][0]["start"] == clinic_iso(clinic_at(time(11)))
    assert all(datetime.fromisoformat(s["start"]) > now for s in body["slots"])


def test_availability_range_of_days(client_for, alice, carol_hours):
    first = _tomorrow()
    last = first + timedelta(days=2)
    body = client_for(alice).get(_url(carol_hours), {"from": first.isoformat(), "to": last.isoformat()}).json()
    assert len(body["slots"]) == 48


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date": "2026-02-30"}, "date"),
        ({"from": "2027-01-01"}, "to"),
        ({"to": "2027-01-01"}, "from"),
        ({"from": "2027-01-10", "to": "2027-01-01"}, "to"),
        ({"from": "2027-01-01", "to": "2027-02-01"}, "to"),
        ({"date": "2027-01-01", "from": "2027-01-01", "to": "2027-01-02"}, "date"),
    ],
)
def test_availability_bad_window_is_400(client_for, alice, carol, query, field):
    response = client_for(alice).get(_url(carol), query)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_availability_31_days_is_fine(client_for, alice, carol):
    response = client_for(alice).get(_url(carol), {"from": "2027-01-01", "to": "2027-01-31"})
    assert response.status_code == 200


def test_availability_needs_a_token(anon, carol):
    assert anon.get(_url(carol)).status_code == 401


def test_availability_of_unknown_or_unapproved_doctor_is_404(client_for, alice):
    pending = factories.DoctorFactory(approved=False)
    assert client_for(alice).get(_url(pending)).status_code == 404
    assert client_for(alice).get("/api/doctors/999999/availability/").status_code == 404


@pytest.mark.parametrize("days", [1, 7])
def test_availability_query_count_is_fixed(client_for, alice, carol_hours, django_assert_num_queries, days):
    client = client_for(alice)
    first = _tomorrow()
    query = {"from": first.isoformat(), "to": (first + timedelta(days=days - 1)).isoformat()}
    client.get(_url(carol_hours), query)  # warm the clinic-settings cache
    # token + user, the doctor, the slots: the same for 16 slots as for 112.
    with django_assert_num_queries(3):
        response = client.get(_url(carol_hours), query)
    assert len(response.json()["slots"]) == 16 * days


# --- Rules ---------------------------------------------------------------------------


def test_doctor_adds_a_rule_and_slots_appear(client_for, carol, clinic):
    day = _tomorrow()
    response = client_for(carol).post(
        _url(carol, "rules/"),
        {"weekday": day.weekday(), "start_time": "09:00", "end_time": "12:00", "slot_minutes": 20},
        format="json",
    )
    assert response.status_code == 201, response.json()
    rule = response.json()
    assert rule["weekday"] == day.weekday() and rule["start_time"] == "09:00" and rule["slot_minutes"] == 20
    assert _slots_on(carol, day).filter(rule_id=rule["id"]).count() == 9
    assert Event.objects.filter(topic=f"doctor.{carol.doctor.id}.availability", name="availability.changed").exists()


def test_rule_slot_minutes_defaults_to_the_clinic_setting(client_for, rita, carol, clinic):
    response = client_for(rita).post(
        _url(carol, "rules/"), {"weekday": 0, "start_time": "09:00", "end_time": "10:00"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["slot_minutes"] == 30


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekday": 7, "start_time": "09:00", "end_time": "12:00"}, "weekday"),
        ({"weekday": 1, "start_time": "12:00", "end_time": "09:00"}, "end_time"),
        ({"weekday": 1, "start_time": "09:00", "end_time": "12:00", "slot_minutes": 4}, "slot_minutes"),
        ({"weekday": 1, "start_time": "09:00", "end_time": "09:20", "slot_minutes": 30}, "slot_minutes"),
        ({"weekday": 1, "start_time": "nine", "end_time": "12:00"}, "start_time"),
        (
            {
                "weekday": 1,
                "start_time": "09:00",
                "end_time": "12:00",
                "valid_from": "2027-02-01",
                "valid_until": "2027-01-01",
            },
            "valid_until",
        ),
    ],
)
def test_bad_rule_is_400(client_for, carol, clinic, body, field):
    response = client_for(carol).post(_url(carol, "rules/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_overlapping_rule_is_400(client_for, carol, clinic):
    client = client_for(carol)
    client.post(_url(carol, "rules/"), {"weekday": 1, "start_time": "09:00", "end_time": "12:00"}, format="json")
    response = client.post(
        _url(carol, "rules/"), {"weekday": 1, "start_time": "11:00", "end_time": "13:00"}, format="json"
    )
    assert response.status_code == 400
    assert "start_time" in response.json()["fields"]


def test_rules_are_listed_to_anyone_signed_in(client_for, alice, carol_hours, anon):
    response = client_for(alice).get(_url(carol_hours, "rules/"))
    assert response.status_code == 200
    assert len(response.json()) == 7
    assert anon.get(_url(carol_hours, "rules/")).status_code == 401


def test_rule_changes_are_refused_to_patients_and_other_doctors(client_for, alice, dave, carol, clinic, anon):
    body = {"weekday": 1, "start_time": "09:00", "end_time": "12:00"}
    assert anon.post(_url(carol, "rules/"), body, format="json").status_code == 401
    assert client_for(alice).post(_url(carol, "rules/"), body, format="json").status_code == 403
    assert client_for(dave).post(_url(carol, "rules/"), body, format="json").status_code == 403
    assert client_for(carol).post("/api/doctors/999999/availability/rules/", body, format="json").status_code == 404


def test_deleting_a_rule_keeps_booked_slots(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot.start)
    rule = AvailabilityRule.objects.get(doctor=carol_hours.doctor, weekday=clinic_date(slot.start).weekday())
    response = client_for(carol_hours).delete(_url(carol_hours, f"rules/{rule.id}/"))
    assert response.status_code == 204
    assert not AvailabilityRule.objects.filter(pk=rule.pk).exists()
    assert not _slots_on(carol_hours, clinic_date(slot.start)).filter(status="free").exists()
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    appointment.refresh_from_db()
    assert appointment.status == "booked" and appointment.slot_id == slot.pk


def test_rule_delete_refusals(client_for, alice, dave, carol_hours, anon):
    rule = AvailabilityRule.objects.filter(doctor=carol_hours.doctor).first()
    url = _url(carol_hours, f"rules/{rule.id}/")
    assert anon.delete(url).status_code == 401
    assert client_for(alice).delete(url).status_code == 403
    assert client_for(dave).delete(url).status_code == 403
    # A rule id of another doctor, under this doctor's path, does not exist here.
    assert client_for(dave).delete(f"/api/doctors/{dave.doctor.id}/availability/rules/{rule.id}/").status_code == 404
    assert client_for(carol_hours).delete(_url(carol_hours, "rules/999999/")).status_code == 404


# --- Exceptions ----------------------------------------------------------------------


def test_time_off_blocks_free_slots_but_not_booked_ones(client_for, alice, carol_hours, slot_of):
    booked = slot_of(0)
    services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=booked.start)
    day_start = booked.start.replace(hour=0, minute=0)
    response = client_for(carol_hours).post(
        _url(carol_hours, "exceptions/"),
        {"start": day_start.isoformat(), "end": (day_start + timedelta(days=1)).isoformat(), "reason": "Conference"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["reason"] == "Conference"
    day_slots = Slot.objects.filter(
        doctor=carol_hours.doctor, start__gte=day_start, start__lt=day_start + timedelta(days=1)
    )
    assert {s.status for s in day_slots if s.pk != booked.pk} == {SlotStatus.BLOCKED}
    booked.refresh_from_db()
    assert booked.status == SlotStatus.BOOKED
    # Regenerating (the daily task) keeps them blocked.
    services.slots_regenerate(doctor=carol_hours.doctor)
    assert not day_slots.filter(status=SlotStatus.FREE).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2027-01-02T10:00:00+00:00", "end": "2027-01-02T09:00:00+00:00"}, "end"),
        ({"start": "2027-01-02T10:00:00", "end": "2027-01-02T11:00:00+00:00"}, "start"),
        ({"end": "2027-01-02T11:00:00+00:00"}, "start"),
    ],
)
def test_bad_exception_is_400(client_for, carol, clinic, body, field):
    response = client_for(carol).post(_url(carol, "exceptions/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_exception_refusals(client_for, alice, dave, carol, clinic, anon):
    body = {"start": "2027-01-02T10:00:00+00:00", "end": "2027-01-02T11:00:00+00:00"}
    assert anon.post(_url(carol, "exceptions/"), body, format="json").status_code == 401
    assert client_for(alice).post(_url(carol, "exceptions/"), body, format="json").status_code == 403
    assert client_for(dave).post(_url(carol, "exceptions/"), body, format="json").status_code == 403
    assert client_for(dave).post("/api/doctors/999999/availability/exceptions/", body, format="json").status_code == 404


# --- Regeneration --------------------------------------------------------------------


def test_regeneration_is_idempotent(carol_hours):
    before = Slot.objects.filter(doctor=carol_hours.doctor).count()
    changes = services.slots_regenerate(doctor=carol_hours.doctor)
    assert not changes.changed
    assert Slot.objects.filter(doctor=carol_hours.doctor).count() == before


def test_daily_task_extends_slots_to_the_horizon(carol_hours):
    from scheduling.tasks import extend_slots

    Slot.objects.filter(doctor=carol_hours.doctor, start__gte=timezone.now() + timedelta(days=5)).delete()
    assert extend_slots.delay().get() == 1
    last = Slot.objects.filter(doctor=carol_hours.doctor).order_by("-start").first()
    assert clinic_date(last.start) == clinic_day(7)


def test_slots_across_dst_in_the_database(carol, ada, clinic):
    set_policy("timezone", "America/New_York")
    set_policy("booking_horizon_days", 366)
    services.rule_create(actor=ada, doctor=carol.doctor, weekday=6, start_time=time(0), end_time=time(4))
    slots = list(Slot.objects.filter(doctor=carol.doctor).order_by("start"))
    assert slots
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert all(a.end <= b.start for a, b in pairwise(slots))
    from zoneinfo import ZoneInfo

    walls = [s.start.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None) for s in slots]
    assert len(walls) == len(set(walls))
    assert not [w for w in walls if w.month == 3 and w.hour == 2 and 8 <= w.day <= 14]


def test_rules_of_unknown_doctor_is_404(client_for, alice):
    assert client_for(alice).get("/api/doctors/999999/availability/rules/").status_code == 404


def test_a_shorter_horizon_drops_free_slots_beyond_it(carol_hours):
    set_policy("booking_horizon_days", 2)
    services.slots_regenerate(doctor=carol_hours.doctor)
    limit = timezone.now() + timedelta(days=4)
    assert not Slot.objects.filter(doctor=carol_hours.doctor, start__gte=limit).exists()


def test_the_beat_schedule_names_a_real_task(settings):
    from config.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["scheduling-extend-slots"]
    assert entry["task"] in app.tasks


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_beat_extends_slots_within_an_hour_of_the_clinics_midnight(settings, time_machine, zone):
    # The horizon's new last day opens at the clinic's midnight: its slots must not wait
    # for a fixed UTC hour (for Kiritimati, 02:15 UTC came 16 hours after it).
    from config.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["scheduling-extend-slots"]["schedule"]
    midnight = datetime(2026, 6, 11, tzinfo=ZoneInfo(zone))
    time_machine.move_to(midnight, tick=False)
    next_run = schedule.remaining_estimate(midnight.astimezone(app.timezone))
    assert next_run <= timedelta(hours=1)

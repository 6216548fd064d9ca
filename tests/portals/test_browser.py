"""Both reference clients in headless Chromium against live daphne processes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from realtime import topics
from realtime.models import Event
from scheduling.models import Slot, SlotStatus
from tests.portals.conftest import clinic_day, sign_in, with_password

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _slot_starts(doctor, zone: str, day: str) -> list[str]:
    """The doctor's free slot starts on a clinic day, as the API writes them."""
    tz = ZoneInfo(zone)
    starts = (
        Slot.objects.filter(doctor=doctor.doctor, status=SlotStatus.FREE)
        .order_by("start")
        .values_list("start", flat=True)
    )
    now = datetime.now(tz)
    return [s.astimezone(tz).isoformat() for s in starts if s > now and s.astimezone(tz).date().isoformat() == day]


def _slot(page, start: str):
    return page.locator(f'.slot[data-start="{start}"]')


def test_two_patients_watch_a_week_and_one_booking_takes_the_slot_from_the_other(
    carol_week, live_servers, browser_page, alice, bob, carol, ada
):
    server = live_servers()
    start = _slot_starts(carol, carol_week, clinic_day(carol_week, 1))[0]
    pages = []
    for patient in (alice, bob):
        page = browser_page()
        sign_in(page, server, f"/patient/?doctor={carol.doctor.pk}", with_password(patient))
        expect(_slot(page, start)).to_have_attribute("data-state", "free", timeout=10000)
        pages.append(page)
    alices, bobs = pages

    # Choosing the slot holds it for Alice while she confirms: Bob sees it held, live.
    with alices.expect_response("**/api/holds/") as held:
        _slot(alices, start).click()
    assert held.value.status == 201
    expect(_slot(bobs, start)).to_have_attribute("data-state", "held", timeout=2000)
    alices.fill("#confirm-reason", "Check-up")
    with alices.expect_response("**/api/appointments/book/") as booked:
        alices.click("#confirm-book")
    assert booked.value.status == 201
    # The other patient's page loses the slot live: within 2 s, no reload.
    expect(_slot(bobs, start)).to_have_attribute("data-state", "taken", timeout=2000)
    expect(_slot(alices, start)).to_have_attribute("data-state", "taken", timeout=2000)
    expect(alices.locator("#appointments")).to_contain_text("booked")
    # Bob's page never offers it again: its button is disabled.
    assert _slot(bobs, start).is_disabled()


def test_the_doctor_dashboard_shows_a_check_in_with_the_patient_name_and_new_bookings(
    carol_week, live_servers, browser_page, alice, bob, carol, rita, ada
):
    server = live_servers()
    later_today = _slot_starts(carol, carol_week, clinic_day(carol_week))
    booked = server.api(
        rita, "POST", "/api/appointments/book/",
        json={"doctor": carol.doctor.pk, "start": later_today[0], "patient": alice.patient.pk},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    appointment = booked.json()

    page = browser_page()
    sign_in(page, server, "/doctor/", with_password(carol))
    row = page.locator(f'#schedule tr[data-appointment-id="{appointment["id"]}"]')
    expect(row).to_contain_text("Alice Anders", timeout=10000)
    expect(page.locator("#waiting")).to_contain_text("Nobody waiting")

    # Reception checks Alice in: the dashboard's queue shows her by name within 2 s.
    path = f"/api/appointments/{appointment['id']}/status/"
    checked_in = server.api(rita, "PUT", path, json={"status": "checked_in"})
    assert checked_in.status_code == 200, checked_in.text
    expect(page.locator("#waiting")).to_contain_text("Alice Anders", timeout=2000)

    # A new booking appears in today's schedule without a reload.
    new = server.api(bob, "POST", "/api/appointments/book/", json={"doctor": carol.doctor.pk, "start": later_today[-1]})
    assert new.status_code == 201, new.text
    expect(page.locator(f'#schedule tr[data-appointment-id="{new.json()["id"]}"]')).to_contain_text(
        "Bob Baker", timeout=2000
    )

    # The doctor starts the visit from the dashboard.
    page.locator(f'#waiting li[data-appointment-id="{appointment["id"]}"] button.to-in_progress').click()
    expect(page.locator("#now-serving")).to_contain_text("Alice Anders", timeout=2000)
    page.locator("#now-serving button.to-completed").click()
    expect(page.locator("#done-count")).to_have_text("1", timeout=2000)


def test_pages_reconnect_after_a_server_restart_and_catch_up_on_every_missed_event(
    carol_week, live_servers, browser_page, alice, bob, carol, rita, ada
):
    server, other = live_servers(), live_servers()
    tomorrow = _slot_starts(carol, carol_week, clinic_day(carol_week, 1))
    today = _slot_starts(carol, carol_week, clinic_day(carol_week))
    visit = server.api(
        rita, "POST", "/api/appointments/book/",
        json={"doctor": carol.doctor.pk, "start": today[0], "patient": alice.patient.pk},
    ).json()  # fmt: skip

    patient_page, doctor_page = browser_page(), browser_page()
    sign_in(patient_page, server, f"/patient/?doctor={carol.doctor.pk}", with_password(alice))
    sign_in(doctor_page, server, "/doctor/", with_password(carol))
    expect(_slot(patient_page, tomorrow[0])).to_have_attribute("data-state", "free", timeout=10000)
    # Events while connected, so the pages hold an event id per topic to resume from.
    first = server.api(
        rita, "POST", "/api/appointments/book/",
        json={"doctor": carol.doctor.pk, "start": tomorrow[0], "patient": bob.patient.pk},
    )  # fmt: skip
    assert first.status_code == 201, first.text
    expect(_slot(patient_page, tomorrow[0])).to_have_attribute("data-state", "taken", timeout=2000)
    checked_in = server.api(rita, "PUT", f"/api/appointments/{visit['id']}/status/", json={"status": "checked_in"})
    assert checked_in.status_code == 200, checked_in.text
    expect(doctor_page.locator("#waiting")).to_contain_text("Alice Anders", timeout=2000)

    server.kill()
    expect(patient_page.locator("#live-status")).to_have_attribute("data-state", "reconnecting", timeout=10000)
    expect(doctor_page.locator("#live-status")).to_have_attribute("data-state", "reconnecting", timeout=10000)
    # While the pages' server is down, the clinic goes on through the other one.
    missed = [tomorrow[1], tomorrow[2]]
    for start in missed:
        answer = other.api(
            rita, "POST", "/api/appointments/book/",
            json={"doctor": carol.doctor.pk, "start": start, "patient": bob.patient.pk},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
    assert other.api(bob, "DELETE", f"/api/appointments/{first.json()['id']}/cancel/").status_code == 200
    started = other.api(carol, "PUT", f"/api/appointments/{visit['id']}/status/", json={"status": "in_progress"})
    assert started.status_code == 200, started.text

    server.start()
    for page in (patient_page, doctor_page):
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=20000)
    for start in missed:
        expect(_slot(patient_page, start)).to_have_attribute("data-state", "taken", timeout=5000)
    expect(_slot(patient_page, tomorrow[0])).to_have_attribute("data-state", "free", timeout=5000)
    expect(doctor_page.locator("#now-serving")).to_contain_text("Alice Anders", timeout=5000)
    expect(doctor_page.locator("#waiting")).to_contain_text("Nobody waiting")

    # Caught up by replay, not by luck: each page's last event id per topic is the newest stored.
    for page, topic in (
        (patient_page, topics.doctor_availability(carol.doctor.pk)),
        (doctor_page, topics.doctor_availability(carol.doctor.pk)),
        (doctor_page, topics.doctor_queue(carol.doctor.pk)),
    ):
        newest = Event.objects.filter(topic=topic).order_by("-pk").values_list("pk", flat=True).first()
        assert page.evaluate("(topic) => window.clinicLive.lastEventId(topic)", topic) == newest


def test_the_patient_portal_shows_join_while_a_video_visits_room_is_open(live_servers, browser_page, alice, carol):
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.models import Appointment, VisitType
    from tests import factories

    # Starting in two minutes: inside the room's window (10 minutes before the start).
    open_visit = factories.appointment_at(doctor=carol, patient=alice, start=timezone.now() + timedelta(minutes=2))
    # Three days away: its room is not open yet.
    later_visit = factories.appointment_at(doctor=carol, patient=alice, start=timezone.now() + timedelta(days=3))
    Appointment.objects.filter(pk__in=[open_visit.pk, later_visit.pk]).update(visit_type=VisitType.VIDEO)
    server = live_servers()

    page = browser_page()
    sign_in(page, server, "/patient/", with_password(alice))
    row = page.locator(f'#appointments li[data-appointment-id="{open_visit.pk}"]')
    expect(row.locator("a.join")).to_have_attribute("href", f"/video/{open_visit.pk}/", timeout=10000)
    later = page.locator(f'#appointments li[data-appointment-id="{later_visit.pk}"]')
    expect(later).to_contain_text("video")
    expect(later.locator("a.join")).to_have_count(0)

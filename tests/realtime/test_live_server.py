"""The whole stack through real server processes: two daphne processes sharing Redis, and
the display page in headless Chromium."""

import json
import shutil
from datetime import time
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from websockets.sync.client import connect

from accounts import services as accounts_services
from realtime import services as realtime_services
from realtime import topics
from realtime.contracts import validate_message
from scheduling.models import Appointment
from tests import factories
from tests.clock import clinic_at
from tests.scheduling.helpers import free_slots, give_hours

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _receive(ws, timeout: float = 10) -> dict:
    message = json.loads(ws.recv(timeout=timeout))
    validate_message(message)
    return message


def test_a_booking_through_one_server_reaches_a_subscriber_of_another(daphne_server, alice, bob, carol, ada):
    give_hours(carol, ada)
    slot = free_slots(carol)[0]
    first, second = daphne_server(), daphne_server()
    topic = topics.doctor_availability(carol.doctor.pk)
    with connect(f"ws://{first}/ws/", origin=f"http://{first}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "auth", "token": accounts_services.token_issue(user=bob).token}))
        assert _receive(ws)["type"] == "authenticated"
        ws.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert _receive(ws) == {"type": "subscribed", "topic": topic}

        alice_token = accounts_services.token_issue(user=alice).token
        response = httpx.post(
            f"http://{second}/api/appointments/book/",
            json={"doctor": carol.doctor.pk, "start": slot.start.isoformat()},
            headers={"Authorization": f"Bearer {alice_token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text

        event = _receive(ws)
        assert event["event"] == "slot.booked" and event["topic"] == topic
        assert event["data"] == {
            "doctor": carol.doctor.pk,
            "start": response.json()["start"],
            "end": response.json()["end"],
        }


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("chromium and chromium-driver are not installed (scripts/ensure-browser.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def test_the_display_page_follows_check_in_and_start_live(
    daphne_server, browser, alice, carol, rita, ada, time_machine
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Today's appointment (the display shows today's queue), starting this minute, at the
    # clinic's noon: a run at 23:59 must not cross into tomorrow's queue half-way.
    time_machine.move_to(clinic_at(time(12)))
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = factories.appointment_at(doctor=carol, patient=alice, start=start)
    server = daphne_server()
    display_token = realtime_services.display_token_create(actor=ada, name="Lobby").token
    # Set up as reception would: the token typed into the page's form, never in the URL.
    browser.get(f"http://{server}/display/?doctor={carol.doctor.pk}")
    browser.find_element(By.NAME, "token").send_keys(display_token)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.ID, "status").text == "live")
    assert browser.find_element(By.ID, "now-serving").text == "—"

    def set_status(user, status: str) -> dict:
        token = accounts_services.token_issue(user=user).token
        response = httpx.put(
            f"http://{server}/api/appointments/{appointment.pk}/status/",
            json={"status": status},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    number = str(set_status(rita, "checked_in")["queue_number"])
    # Contract §9: the display's `now_serving` is the appointment in progress; a check-in
    # puts the number up as "next" first.
    WebDriverWait(browser, 2).until(lambda b: b.find_element(By.ID, "next-number").text == number)
    set_status(carol, "in_progress")
    WebDriverWait(browser, 2).until(lambda b: b.find_element(By.ID, "now-serving").text == number)
    assert browser.find_element(By.ID, "next-number").text == "—"
    assert "Alice" not in browser.page_source
    assert Appointment.objects.get(pk=appointment.pk).status == "in_progress"

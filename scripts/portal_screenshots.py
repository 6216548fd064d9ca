"""Screenshots of the reference clients for docs/screenshots/, taken from a running demo
clinic (`make run`), in headless Chromium (Debian's /usr/bin/chromium, via Playwright).

    .venv/bin/python scripts/portal_screenshots.py http://127.0.0.1:8000

It books a few appointments for demo patients with Dr House through the public API (as
reception would) so the pages have something to show; run it on a demo database only.
"""

import sys
from datetime import date
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

PASSWORD = "ClinicDemo-2026!"  # noqa: S105 (the demo accounts' published password)
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def sign_in(base: str, email: str) -> dict:
    answer = httpx.post(f"{base}/api/auth/login/", json={"email": email, "password": PASSWORD}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def prepare(base: str) -> int:
    """Today's visits with Dr House: two checked in, one in the room. Returns his doctor id."""
    desk = {"Authorization": f"Bearer {sign_in(base, 'reception@clinic.example')['token']}"}
    house = sign_in(base, "dr.house@clinic.example")
    doctor = house["user"]["doctor"]["id"]
    doctor_headers = {"Authorization": f"Bearer {house['token']}"}
    week = httpx.get(f"{base}/api/doctors/{doctor}/availability/", headers=desk, timeout=10).json()
    free = [slot for slot in week["slots"] if slot["available"]][:4]
    for index, slot in enumerate(free):
        patient = sign_in(base, f"patient{index + 2:02d}@clinic.example")["user"]["patient"]["id"]
        body = {"doctor": doctor, "start": slot["start"], "patient": patient, "reason": "Follow-up"}
        booked = httpx.post(f"{base}/api/appointments/book/", json=body, headers=desk, timeout=10)
        if booked.status_code != 201:
            continue
        appointment = booked.json()["id"]
        if index < 3:
            httpx.put(f"{base}/api/appointments/{appointment}/status/", json={"status": "checked_in"}, headers=desk)
        if index == 0:
            httpx.put(
                f"{base}/api/appointments/{appointment}/status/", json={"status": "in_progress"}, headers=doctor_headers
            )
    return doctor


def main(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    doctor = prepare(base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/")
        page.screenshot(path=OUT / "landing.png", full_page=True)
        page.goto(f"{base}/api/asyncapi/")
        page.screenshot(path=OUT / "asyncapi.png")

        patient = browser.new_page(viewport={"width": 1280, "height": 1000})
        patient.goto(f"{base}/patient/?doctor={doctor}")
        patient.fill("#signin-form input[name=email]", "patient01@clinic.example")
        patient.fill("#signin-form input[name=password]", PASSWORD)
        patient.click("#signin-form button[type=submit]")
        patient.wait_for_selector(".slot.free")
        patient.locator(".slot.free").nth(3).click()
        patient.fill("#confirm-reason", "Persistent cough")
        patient.click("#confirm-book")
        patient.wait_for_selector("#appointments .appointment")
        patient.wait_for_timeout(500)
        patient.screenshot(path=OUT / "patient-portal.png", full_page=True)

        dashboard = browser.new_page(viewport={"width": 1280, "height": 900})
        dashboard.goto(f"{base}/doctor/")
        dashboard.fill("#signin-form input[name=email]", "dr.house@clinic.example")
        dashboard.fill("#signin-form input[name=password]", PASSWORD)
        dashboard.click("#signin-form button[type=submit]")
        dashboard.wait_for_selector("#live-status[data-state=live]")
        dashboard.wait_for_timeout(800)
        dashboard.screenshot(path=OUT / "doctor-dashboard.png", full_page=True)
        browser.close()
    print(f"screenshots of {date.today()} in {OUT}")  # noqa: T201 (a command-line tool)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")

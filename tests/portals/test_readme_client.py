"""The README's websocket client example, pasted as a portal developer would, against a
live server: it authenticates with an Origin, subscribes and prints a live event."""

import asyncio
import contextlib
import io
import re
import threading
import time
from pathlib import Path

import pytest

from accounts import services as accounts_services
from tests.scheduling.helpers import free_slots, give_hours

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if "websockets.connect" in block)


def test_the_readme_websocket_example_runs(live_servers, alice, bob, carol, ada):
    give_hours(carol, ada)
    server = live_servers()
    host = server.url.removeprefix("http://")
    code = _example()
    assert len(code.strip().splitlines()) <= 16
    code = code.replace("127.0.0.1:8000", host).rsplit("asyncio.run(", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (the documentation's own code)

    token = accounts_services.token_issue(user=bob).token
    printed = io.StringIO()

    def follow() -> None:
        with contextlib.redirect_stdout(printed), contextlib.suppress(TimeoutError):
            asyncio.run(asyncio.wait_for(namespace["follow"](token, carol.doctor.pk), timeout=8))

    listener = threading.Thread(target=follow)
    listener.start()
    deadline = time.monotonic() + 5
    while "'subscribed'" not in printed.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    slot = free_slots(carol)[0]
    booked = server.api(
        alice, "POST", "/api/appointments/book/", json={"doctor": carol.doctor.pk, "start": slot.start.isoformat()}
    )
    assert booked.status_code == 201, booked.text
    listener.join(15)
    output = printed.getvalue()
    assert "'type': 'authenticated'" in output
    assert f"'topic': 'doctor.{carol.doctor.pk}.availability'" in output
    assert "'event': 'slot.booked'" in output

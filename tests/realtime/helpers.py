"""Helpers of the realtime tests (import them from here; fixtures stay in conftest.py)."""

from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from realtime.contracts import validate_message
from realtime.models import Event
from realtime.publish import publish
from tests.clock import clinic_day

ORIGIN = (b"origin", b"http://127.0.0.1")


class Socket:
    """A WebsocketCommunicator speaking contract §9; every received message is validated."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = 3) -> dict[str, Any]:
        message = await self.communicator.receive_json_from(timeout=timeout)
        validate_message(message)
        return message

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.send(message)
        return await self.receive()

    async def events(self, count: int) -> list[dict[str, Any]]:
        received = [await self.receive() for _ in range(count)]
        assert all(message["type"] == "event" for message in received), received
        return received

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def closed_with(self, timeout: float = 3) -> int:
        output = await self.communicator.receive_output(timeout=timeout)
        assert output["type"] == "websocket.close", output
        return output["code"]

    async def authenticate(self, token: str) -> dict[str, Any]:
        answer = await self.request({"action": "auth", "token": token})
        assert answer["type"] == "authenticated", answer
        return answer

    async def subscribe(self, topic: str, **extra: Any) -> dict[str, Any]:
        answer = await self.request({"action": "subscribe", "topic": topic, **extra})
        return answer


def _publish_committed(topic: str, event: str, data: dict[str, Any]) -> Event:
    with transaction.atomic():
        return publish(topic=topic, event=event, data=data)


publish_committed = database_sync_to_async(_publish_committed)


def slot_data(doctor_id: int, minutes_from_now: int = 60) -> dict[str, Any]:
    start = (timezone.now() + timedelta(minutes=minutes_from_now)).replace(microsecond=0)
    return {"doctor": doctor_id, "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}


def display_data(doctor_id: int, now_serving: int | None, *waiting: int) -> dict[str, Any]:
    return {
        "doctor": doctor_id,
        "date": clinic_day().isoformat(),
        "now_serving": None if now_serving is None else {"queue_number": now_serving, "status": "in_progress"},
        "waiting": [{"queue_number": number, "status": "checked_in"} for number in waiting],
    }

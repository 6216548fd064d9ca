"""frontend_contracts/ is generated from realtime.contracts and the views, and kept up to date."""

from pathlib import Path

import pytest
from django.conf import settings
from jsonschema import ValidationError

from realtime import contracts
from tooling.contracts import render_all

CONTRACTS = Path(settings.BASE_DIR) / "frontend_contracts"


def test_the_generated_realtime_contracts_are_up_to_date():
    rendered = render_all()
    assert {"asyncapi.yaml", "types/events.ts", "types/api.ts"} <= set(rendered)
    stale = [
        name
        for name, content in rendered.items()
        if not (CONTRACTS / name).exists() or (CONTRACTS / name).read_text(encoding="utf-8") != content
    ]
    assert not stale, f"run `make schema` and commit: stale {stale}"


def test_every_event_and_message_has_a_schema_file():
    names = {path.name for path in (CONTRACTS / "schemas").glob("**/*.json")}
    assert "display.doctor.id.queue.updated.json" in names
    assert "doctor.id.availability.slot.booked.json" in names
    assert {"AuthMessage.json", "EventMessage.json", "ErrorMessage.json"} <= names


def test_display_events_may_not_carry_names():
    data = {
        "doctor": 1,
        "date": "2026-12-01",
        "now_serving": {"queue_number": 1, "status": "in_progress", "patient_name": "Alice"},
        "waiting": [],
    }
    with pytest.raises(ValidationError):
        contracts.validate_event(topic="display.doctor.1", event="queue.updated", data=data)


def test_availability_events_may_not_carry_patient_data():
    data = {"doctor": 1, "start": "2026-12-01T09:00:00+00:00", "end": "2026-12-01T09:30:00+00:00", "patient": 4}
    with pytest.raises(ValidationError):
        contracts.validate_event(topic="doctor.1.availability", event="slot.booked", data=data)


def test_datetimes_need_an_offset():
    data = {"doctor": 1, "start": "2026-12-01T09:00:00", "end": "2026-12-01T09:30:00+00:00"}
    with pytest.raises(ValidationError):
        contracts.validate_event(topic="doctor.1.availability", event="slot.booked", data=data)


def test_undeclared_events_are_refused():
    with pytest.raises(KeyError):
        contracts.validate_event(topic="doctor.1.availability", event="slot.exploded", data={})

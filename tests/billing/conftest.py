"""Billing fixtures: a completed appointment of alice with carol, and a local Stripe stand-in."""

import threading
from collections.abc import Iterator

import pytest

from tests.billing.helpers import WEBHOOK_SECRET, StripeStandIn, past
from tests.factories import appointment_at


@pytest.fixture
def visit(alice, carol):
    """alice's completed consultation with carol, yesterday."""
    return appointment_at(doctor=carol, patient=alice, start=past(1), status="completed")


@pytest.fixture
def stripe_stand_in(settings) -> Iterator[StripeStandIn]:
    """Card payments on, pointed at a local stand-in; stopped when the test ends."""
    stand_in = StripeStandIn()
    thread = threading.Thread(target=stand_in.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_API_BASE = stand_in.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    try:
        yield stand_in
    finally:
        stand_in.server.shutdown()
        stand_in.server.server_close()
        thread.join(timeout=5)

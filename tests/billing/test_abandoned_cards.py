"""A card payment nobody confirms must not hold the appointment's balance forever."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditLog
from billing.models import Payment
from clinic.services import clinic_setting_set
from tests.billing.helpers import intent_event
from tests.billing.test_stripe import card, deliver


def cash(client, visit, key="desk"):
    return client.post(
        "/api/payments/charge/", {"appointment": visit.pk, "method": "cash", "idempotency_key": key}, format="json"
    )


def cancels(stand_in) -> list[str]:
    return [r["path"] for r in stand_in.requests if r["path"].endswith("/cancel")]


@pytest.mark.django_db
class TestExpiry:
    def test_an_unconfirmed_card_payment_expires_and_the_desk_can_take_cash(
        self, client_for, alice, rita, ada, visit, stripe_stand_in
    ):
        clinic_setting_set(actor=ada, key="card_payment_expiry_minutes", value=30)
        card(client_for(alice), visit)
        assert cash(client_for(rita), visit, key="too-soon").status_code == 409  # still held
        with time_machine.travel(timezone.now() + timedelta(minutes=31)):
            response = cash(client_for(rita), visit)
        assert response.status_code == 201, response.content
        abandoned = Payment.objects.get(method="card")
        assert (abandoned.status, abandoned.failure_reason) == ("failed", "expired")
        assert cancels(stripe_stand_in) == ["/v1/payment_intents/pi_test_1/cancel"]

    def test_the_beat_task_expires_them_too(self, client_for, alice, visit, stripe_stand_in):
        from billing.tasks import expire_card_payments

        card(client_for(alice), visit)
        with time_machine.travel(timezone.now() + timedelta(days=1)):
            assert expire_card_payments() == 1
        assert Payment.objects.get().status == "failed"

    def test_a_payment_confirmed_meanwhile_is_not_expired(self, client_for, anon, alice, visit, stripe_stand_in):
        card(client_for(alice), visit)
        # The payer confirmed on their device; Stripe's webhook has not arrived yet.
        stripe_stand_in.intent_objects["pi_test_1"]["status"] = "succeeded"
        from billing.tasks import expire_card_payments

        with time_machine.travel(timezone.now() + timedelta(days=1)):
            expire_card_payments()
        assert Payment.objects.get().status == "succeeded"
        assert deliver(anon, intent_event("evt_late", "payment_intent.succeeded", "pi_test_1")).status_code == 200


@pytest.mark.django_db
class TestStaffCancel:
    def test_staff_cancel_a_pending_card_payment(self, client_for, alice, rita, visit, stripe_stand_in):
        card(client_for(alice), visit)
        payment = Payment.objects.get()
        response = client_for(rita).post(f"/api/payments/{payment.pk}/cancel/")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "failed"
        assert cancels(stripe_stand_in) == ["/v1/payment_intents/pi_test_1/cancel"]
        assert AuditLog.objects.filter(action="payment.failed", actor=rita, object_id=str(payment.pk)).exists()
        assert cash(client_for(rita), visit).status_code == 201

    def test_only_pending_payments_can_be_cancelled(self, client_for, rita, visit):
        paid = cash(client_for(rita), visit).json()
        response = client_for(rita).post(f"/api/payments/{paid['id']}/cancel/")
        assert response.status_code == 409
        assert response.json()["code"] == "payment_not_cancellable"

    def test_access(self, client_for, anon, alice, bob, carol, visit, stripe_stand_in):
        card(client_for(alice), visit)
        url = f"/api/payments/{Payment.objects.get().pk}/cancel/"
        assert anon.post(url).status_code == 401
        for outsider in (alice, bob, carol):
            assert client_for(outsider).post(url).status_code == 403
        assert client_for(alice).post("/api/payments/999999/cancel/").status_code == 403
        assert Payment.objects.get().status == "pending"

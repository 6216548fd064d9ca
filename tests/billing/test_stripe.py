"""Card payments through the real Stripe SDK against a local stand-in, and the signed webhook."""

import time

import pytest

from audit.models import AuditLog
from billing.models import Invoice, Payment, StripeEvent
from billing.services import invoice_generate
from tests.billing.helpers import WEBHOOK_SECRET, intent_event, signed_event

WEBHOOK = "/api/webhooks/stripe/"


def card(client, visit, key="card-1", **extra):
    return client.post(
        "/api/payments/charge/",
        {"appointment": visit.pk, "method": "card", "idempotency_key": key, **extra},
        format="json",
    )


def deliver(anon, event, secret=WEBHOOK_SECRET, at=None):
    payload, header = signed_event(event, secret=secret, at=at)
    return anon.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.mark.django_db
class TestCardCharge:
    def test_patient_card_charge_creates_one_payment_intent(self, client_for, alice, visit, stripe_stand_in):
        response = card(client_for(alice), visit)
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "pending"
        assert body["method"] == "card"
        assert body["client_secret"] == "pi_test_1_secret_abc"
        [sent] = stripe_stand_in.requests
        assert sent["path"] == "/v1/payment_intents"
        assert sent["form"]["amount"] == "5000"
        assert sent["form"]["currency"] == "eur"
        assert sent["form"]["metadata[idempotency_key]"] == "card-1"
        assert sent["form"]["metadata[payment_id]"] == str(body["id"])
        assert sent["headers"]["Idempotency-Key"] == f"clinic-{alice.pk}-card-1"
        assert sent["headers"]["Authorization"] == "Bearer sk_test_local"
        assert Payment.objects.get().gateway_reference == "pi_test_1"

    def test_replay_sends_nothing_more(self, client_for, alice, visit, stripe_stand_in):
        client = client_for(alice)
        first = card(client, visit)
        again = card(client, visit)
        assert again.json() == first.json()
        assert len(stripe_stand_in.requests) == 1

    def test_staff_may_charge_a_card(self, client_for, rita, visit, stripe_stand_in):
        assert card(client_for(rita), visit).status_code == 201

    def test_gateway_down_is_502_and_the_retry_completes_it(self, client_for, alice, visit, stripe_stand_in):
        client = client_for(alice)
        # Three 500s: the SDK's first attempt and its two retries all fail.
        stripe_stand_in.handle = _failing(stripe_stand_in.handle, times=3)
        down = card(client, visit)
        assert down.status_code == 502
        assert down.json()["code"] == "payment_gateway_unavailable"
        assert Payment.objects.get().status == "pending"
        retry = card(client, visit)
        assert retry.status_code == 201
        assert retry.json()["client_secret"].startswith("pi_test_")
        assert Payment.objects.count() == 1
        assert stripe_stand_in.intents == 1

    def test_pending_card_payment_holds_the_balance(self, client_for, alice, rita, visit, stripe_stand_in):
        card(client_for(alice), visit)
        response = client_for(rita).post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "cash", "idempotency_key": "desk"},
            format="json",
        )
        assert response.status_code == 409
        assert response.json()["code"] == "already_paid"


def _failing(handle, *, times):
    state = {"left": times}

    def wrapped(path, form, headers):
        if state["left"] > 0:
            state["left"] -= 1
            return 500, {"error": {"type": "api_error", "message": "stand-in down"}}
        return handle(path, form, headers)

    return wrapped


@pytest.mark.django_db
class TestWebhook:
    @pytest.fixture
    def pending(self, client_for, alice, visit, stripe_stand_in):
        card(client_for(alice), visit)
        return Payment.objects.get()

    def test_succeeded_event_settles_the_payment_and_the_invoice(self, anon, rita, visit, pending):
        invoice, _ = invoice_generate(actor=rita, appointment_id=visit.pk)
        response = deliver(anon, intent_event("evt_1", "payment_intent.succeeded", "pi_test_1"))
        assert response.status_code == 200
        assert response.json() == {"received": True, "handled": True}
        pending.refresh_from_db()
        assert pending.status == "succeeded"
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"
        assert AuditLog.objects.filter(action="payment.succeeded", actor=None).exists()

    def test_failed_event_fails_it_and_frees_the_balance(self, anon, client_for, rita, visit, pending):
        error = {"last_payment_error": {"message": "Your card was declined."}}
        deliver(anon, intent_event("evt_2", "payment_intent.payment_failed", "pi_test_1", **error))
        pending.refresh_from_db()
        assert (pending.status, pending.failure_reason) == ("failed", "Your card was declined.")
        cash = client_for(rita).post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "cash", "idempotency_key": "desk"},
            format="json",
        )
        assert cash.status_code == 201

    def test_redelivered_and_out_of_order_events_change_nothing(self, anon, pending):
        assert deliver(anon, intent_event("evt_1", "payment_intent.succeeded", "pi_test_1")).json()["handled"]
        assert not deliver(anon, intent_event("evt_1", "payment_intent.succeeded", "pi_test_1")).json()["handled"]
        late_failure = deliver(anon, intent_event("evt_3", "payment_intent.payment_failed", "pi_test_1"))
        assert late_failure.status_code == 200
        assert not late_failure.json()["handled"]
        pending.refresh_from_db()
        assert pending.status == "succeeded"
        assert StripeEvent.objects.count() == 2

    def test_unknown_intent_and_other_events_are_acknowledged(self, anon, pending):
        assert deliver(anon, intent_event("evt_4", "payment_intent.succeeded", "pi_other")).status_code == 200
        assert deliver(anon, intent_event("evt_5", "customer.created", "cus_1")).status_code == 200
        pending.refresh_from_db()
        assert pending.status == "pending"

    def test_wrong_secret_is_refused(self, anon, pending):
        response = deliver(anon, intent_event("evt_6", "payment_intent.succeeded", "pi_test_1"), secret="whsec_wrong")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        pending.refresh_from_db()
        assert pending.status == "pending"

    def test_stale_signature_is_refused(self, anon, pending):
        event = intent_event("evt_7", "payment_intent.succeeded", "pi_test_1")
        response = deliver(anon, event, at=int(time.time()) - 3600)
        assert response.status_code == 400

    def test_tampered_payload_is_refused(self, anon, pending):
        payload, header = signed_event(intent_event("evt_8", "payment_intent.payment_failed", "pi_test_1"))
        tampered = payload.replace(b"payment_failed", b"succeeded")
        response = anon.post(WEBHOOK, tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
        assert response.status_code == 400

    def test_missing_signature_and_garbage_are_400(self, anon, pending):
        assert anon.post(WEBHOOK, b"{}", content_type="application/json").status_code == 400
        payload, header = signed_event({"no": "id"})
        response = anon.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
        assert response.status_code == 400

    def test_without_a_webhook_secret_events_are_refused(self, anon, settings, pending):
        settings.STRIPE_WEBHOOK_SECRET = ""
        response = deliver(anon, intent_event("evt_9", "payment_intent.succeeded", "pi_test_1"))
        assert response.status_code == 400
        assert response.json()["code"] == "webhook_not_configured"

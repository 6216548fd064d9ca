"""POST /api/payments/{id}/refund/: staff and admin, full or partial, never more than was paid."""

import pytest

from audit.models import AuditLog
from billing.models import Invoice, Payment, Refund
from billing.services import invoice_generate
from tests.billing.helpers import intent_event
from tests.billing.test_stripe import deliver


def pay_cash(client, visit, key="k", **extra):
    return client.post(
        "/api/payments/charge/",
        {"appointment": visit.pk, "method": "cash", "idempotency_key": key, **extra},
        format="json",
    ).json()


def refund(client, payment_id, **body):
    return client.post(f"/api/payments/{payment_id}/refund/", body, format="json")


@pytest.mark.django_db
class TestDeskRefunds:
    def test_partial_then_the_rest(self, client_for, rita, visit):
        payment = pay_cash(client_for(rita), visit)
        first = refund(client_for(rita), payment["id"], amount="20.00", reason="discount")
        assert first.status_code == 201
        body = first.json()
        assert (body["amount"], body["status"], body["reason"]) == ("20.00", "succeeded", "discount")
        assert body["payment"]["status"] == "partially_refunded"
        assert body["payment"]["refunded_amount"] == "20.00"
        rest = refund(client_for(rita), payment["id"])
        assert rest.json()["amount"] == "30.00"
        assert rest.json()["payment"]["status"] == "refunded"
        assert AuditLog.objects.filter(action="refund.requested").count() == 2
        assert AuditLog.objects.filter(action="refund.succeeded").count() == 2

    def test_never_more_than_was_paid(self, client_for, ada, visit):
        payment = pay_cash(client_for(ada), visit, amount="10.00")
        over = refund(client_for(ada), payment["id"], amount="10.01")
        assert over.status_code == 400
        assert over.json()["code"] == "amount_exceeds_refundable"
        assert "amount" in over.json()["fields"]
        assert refund(client_for(ada), payment["id"]).status_code == 201
        again = refund(client_for(ada), payment["id"], amount="0.01")
        assert again.status_code == 409
        assert again.json()["code"] == "payment_not_refundable"
        assert Payment.objects.get().refunded_amount == 10

    def test_a_refund_reopens_the_invoice_and_the_balance(self, client_for, rita, visit):
        payment = pay_cash(client_for(rita), visit)
        invoice, _ = invoice_generate(actor=rita, appointment_id=visit.pk)
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"
        refund(client_for(rita), payment["id"], amount="5.00")
        assert Invoice.objects.get(pk=invoice.pk).status == "issued"
        top_up = pay_cash(client_for(rita), visit, key="top-up")
        assert top_up["amount"] == "5.00"
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"

    def test_access(self, client_for, anon, alice, bob, carol, rita, visit):
        payment = pay_cash(client_for(rita), visit)
        assert refund(anon, payment["id"]).status_code == 401
        for user in (alice, bob, carol):
            assert refund(client_for(user), payment["id"]).status_code == 403
        assert refund(client_for(rita), 999999).status_code == 404
        assert Refund.objects.count() == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"amount": "0"}, "amount"), ({"amount": "x"}, "amount"), ({"reason": "r" * 501}, "reason")],
    )
    def test_bad_input(self, client_for, rita, visit, body, field):
        payment = pay_cash(client_for(rita), visit)
        response = refund(client_for(rita), payment["id"], **body)
        assert response.status_code == 400
        assert field in response.json()["fields"]


@pytest.mark.django_db
class TestCardRefunds:
    def test_card_refund_goes_through_stripe(self, client_for, anon, alice, rita, visit, stripe_stand_in):
        client_for(alice).post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "card", "idempotency_key": "c1"},
            format="json",
        )
        payment = Payment.objects.get()
        pending = refund(client_for(rita), payment.pk)
        assert pending.status_code == 409  # nothing settled yet
        deliver(anon, intent_event("evt_ok", "payment_intent.succeeded", "pi_test_1"))

        response = refund(client_for(rita), payment.pk, amount="12.34")
        assert response.status_code == 201
        assert response.json()["status"] == "succeeded"
        sent = stripe_stand_in.requests[-1]
        assert sent["path"] == "/v1/refunds"
        assert (sent["form"]["payment_intent"], sent["form"]["amount"]) == ("pi_test_1", "1234")
        refund_row = Refund.objects.get()
        assert sent["headers"]["Idempotency-Key"] == f"clinic-refund-{refund_row.pk}"
        assert refund_row.gateway_reference == "re_test_1"
        payment.refresh_from_db()
        assert (payment.status, str(payment.refunded_amount)) == ("partially_refunded", "12.34")


def _answer_lost(handle, *, times):
    """Stripe does the work but its answer never arrives (a timeout after the refund was made)."""
    state = {"left": times}

    def wrapped(path, form, headers):
        answer = handle(path, form, headers)
        if state["left"] > 0:
            state["left"] -= 1
            return 500, {"error": {"type": "api_error", "message": "answer lost"}}
        return answer

    return wrapped


@pytest.mark.django_db
class TestUnknownRefundOutcome:
    @pytest.fixture
    def settled(self, client_for, anon, alice, visit, stripe_stand_in):
        client_for(alice).post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "card", "idempotency_key": "c1"},
            format="json",
        )
        deliver(anon, intent_event("evt_ok", "payment_intent.succeeded", "pi_test_1"))
        return Payment.objects.get()

    def test_a_retry_after_a_lost_answer_reconciles_instead_of_refunding_twice(
        self, client_for, rita, settled, stripe_stand_in
    ):
        original = stripe_stand_in.handle
        # The SDK tries three times; every answer is lost, though Stripe made the refund.
        stripe_stand_in.handle = _answer_lost(original, times=3)
        lost = refund(client_for(rita), settled.pk)
        assert lost.status_code == 502
        unknown = Refund.objects.get()
        assert unknown.status == "pending"  # unknown is not failed

        retry = refund(client_for(rita), settled.pk)
        assert stripe_stand_in.refunds == 1  # one refund at Stripe, whatever the retry did
        assert retry.status_code == 201
        assert retry.json()["id"] == unknown.pk
        assert retry.json()["status"] == "succeeded"
        assert Refund.objects.count() == 1
        settled.refresh_from_db()
        assert (settled.status, settled.refunded_amount) == ("refunded", settled.amount)

    def test_a_retry_resends_a_refund_stripe_never_received(self, client_for, rita, settled, stripe_stand_in):
        from tests.billing.test_stripe import _failing

        stripe_stand_in.handle = _failing(stripe_stand_in.handle, times=3)
        assert refund(client_for(rita), settled.pk).status_code == 502
        unknown = Refund.objects.get()
        retry = refund(client_for(rita), settled.pk)
        assert retry.status_code == 201
        assert retry.json()["id"] == unknown.pk
        sent = [r for r in stripe_stand_in.requests if r["path"] == "/v1/refunds" and r.get("method") != "GET"]
        assert {r["headers"]["Idempotency-Key"] for r in sent} == {f"clinic-refund-{unknown.pk}"}
        assert stripe_stand_in.refunds == 1

    def test_the_late_webhook_of_a_refund_whose_answer_was_lost_is_applied(
        self, client_for, anon, rita, settled, stripe_stand_in
    ):
        stripe_stand_in.handle = _answer_lost(stripe_stand_in.handle, times=3)
        assert refund(client_for(rita), settled.pk).status_code == 502
        unknown = Refund.objects.get()
        made = stripe_stand_in.refund_objects[0]
        event = {
            "id": "evt_refund_late",
            "object": "event",
            "type": "refund.updated",
            "data": {"object": {**made, "status": "succeeded"}},
        }
        assert deliver(anon, event).status_code == 200
        unknown.refresh_from_db()
        assert (unknown.status, unknown.gateway_reference) == ("succeeded", made["id"])
        settled.refresh_from_db()
        assert settled.status == "refunded"

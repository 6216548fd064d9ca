"""Racing requests on real PostgreSQL with real threads: money taken once, numbers without gaps."""

import pytest

from billing.models import Invoice, InvoiceCounter, Payment
from tests.billing.helpers import past
from tests.clock import clinic_day
from tests.concurrency import run_together
from tests.factories import appointment_at

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_charges_make_one_payment(client_for, rita, visit):
    clients = [client_for(rita) for _ in range(THREADS)]
    body = {"appointment": visit.pk, "method": "cash", "idempotency_key": "desk-visit-1"}

    responses = run_together(THREADS, lambda i: clients[i].post("/api/payments/charge/", body, format="json"))

    assert [r.status_code for r in responses] == [201] * THREADS
    assert len({r.json()["id"] for r in responses}) == 1
    assert Payment.objects.count() == 1
    assert str(Payment.objects.get().amount) == "50.00"


@pytest.mark.django_db(transaction=True)
def test_twenty_different_charges_never_pay_beyond_the_balance(client_for, rita, visit):
    clients = [client_for(rita) for _ in range(THREADS)]

    responses = run_together(
        THREADS,
        lambda i: clients[i].post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "cash", "idempotency_key": f"k-{i}", "amount": "7.00"},
            format="json",
        ),
    )

    codes = sorted(r.status_code for r in responses)
    # 7 x 7.00 = 49.00 fits in 50.00; the rest exceed the 1.00 left.
    assert codes == [201] * 7 + [400] * 13
    assert sum(p.amount for p in Payment.objects.all()) == 49


@pytest.mark.django_db(transaction=True)
def test_twenty_invoices_at_once_get_twenty_consecutive_numbers(client_for, rita, alice, carol):
    appointments = [
        appointment_at(doctor=carol, patient=alice, start=past(day), status="completed")
        for day in range(1, THREADS + 1)
    ]
    clients = [client_for(rita) for _ in range(THREADS)]

    responses = run_together(
        THREADS,
        lambda i: clients[i].post("/api/invoices/generate/", {"appointment": appointments[i].pk}, format="json"),
    )

    assert [r.status_code for r in responses] == [201] * THREADS
    year = clinic_day().year
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, THREADS + 1)]
    assert InvoiceCounter.objects.get(year=year).last_number == THREADS
    assert len({r.json()["appointment"] for r in responses}) == THREADS


@pytest.mark.django_db(transaction=True)
def test_twenty_generations_of_one_invoice_make_one(client_for, rita, visit):
    clients = [client_for(rita) for _ in range(THREADS)]

    responses = run_together(
        THREADS, lambda i: clients[i].post("/api/invoices/generate/", {"appointment": visit.pk}, format="json")
    )

    assert sorted(r.status_code for r in responses) == [200] * (THREADS - 1) + [201]
    assert len({r.json()["number"] for r in responses}) == 1
    assert Invoice.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_refunds_at_once_never_exceed_what_was_paid(client_for, rita, visit):
    paid = client_for(rita).post(
        "/api/payments/charge/",
        {"appointment": visit.pk, "method": "cash", "idempotency_key": "desk"},
        format="json",
    )
    payment_id = paid.json()["id"]
    clients = [client_for(rita) for _ in range(THREADS)]

    responses = run_together(
        THREADS, lambda i: clients[i].post(f"/api/payments/{payment_id}/refund/", {"amount": "10.00"}, format="json")
    )

    codes = sorted(r.status_code for r in responses)
    # 5 x 10.00 give back the 50.00 paid; then the payment is refunded in full (409).
    assert codes == [201] * 5 + [409] * 15
    payment = Payment.objects.get(pk=payment_id)
    assert (payment.status, str(payment.refunded_amount)) == ("refunded", "50.00")

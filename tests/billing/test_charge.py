"""POST /api/payments/charge/, GET /api/payments/history/ and /api/payments/{id}/ (contract §7)."""

from decimal import Decimal

import pytest

from audit.models import AuditLog
from billing import services
from billing.models import Payment
from clinic.services import clinic_setting_set
from tests.billing.helpers import past
from tests.factories import appointment_at

URL = "/api/payments/charge/"


def charge(client, visit, method="cash", key="k-1", **extra):
    return client.post(URL, {"appointment": visit.pk, "method": method, "idempotency_key": key, **extra}, format="json")


@pytest.mark.django_db
class TestDeskCharges:
    def test_staff_takes_cash_settled_at_once_for_the_balance(self, client_for, rita, visit):
        response = charge(client_for(rita), visit)
        assert response.status_code == 201
        body = response.json()
        assert body["amount"] == "50.00"
        assert body["currency"] == "EUR"
        assert body["method"] == "cash"
        assert body["status"] == "succeeded"
        assert body["appointment"] == visit.pk
        assert set(body) >= {"id", "appointment", "amount", "currency", "method", "status", "created_at"}
        assert AuditLog.objects.filter(action="payment.created", object_id=str(body["id"])).exists()
        assert AuditLog.objects.filter(action="payment.succeeded", object_id=str(body["id"])).exists()

    def test_admin_records_insurance_in_parts(self, client_for, ada, visit):
        first = charge(client_for(ada), visit, method="insurance", key="ins-1", amount="30.00")
        second = charge(client_for(ada), visit, method="insurance", key="ins-2", amount="20.00")
        assert (first.status_code, second.status_code) == (201, 201)
        assert [first.json()["amount"], second.json()["amount"]] == ["30.00", "20.00"]

    def test_same_key_same_body_is_the_same_payment(self, client_for, rita, visit):
        client = client_for(rita)
        first = charge(client, visit)
        again = charge(client, visit)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert Payment.objects.count() == 1

    def test_same_key_other_body_is_409(self, client_for, rita, visit):
        client = client_for(rita)
        charge(client, visit, amount="10.00")
        response = charge(client, visit, amount="12.00")
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_key_reused"

    def test_keys_are_per_payer(self, client_for, rita, ada, visit):
        charge(client_for(rita), visit, key="shared", amount="10.00")
        response = charge(client_for(ada), visit, key="shared", amount="10.00")
        assert response.status_code == 201
        assert Payment.objects.count() == 2

    def test_never_beyond_the_balance(self, client_for, rita, visit):
        client = client_for(rita)
        assert charge(client, visit, key="a", amount="45.00").status_code == 201
        over = charge(client, visit, key="b", amount="5.01")
        assert over.status_code == 400
        assert over.json()["code"] == "amount_exceeds_balance"
        assert "amount" in over.json()["fields"]
        rest = charge(client, visit, key="c")
        assert rest.json()["amount"] == "5.00"
        done = charge(client, visit, key="d")
        assert done.status_code == 409
        assert done.json()["code"] == "already_paid"

    def test_balance_includes_tax_and_the_doctor_fee(self, client_for, rita, ada, carol, visit):
        services.doctor_fee_set(actor=ada, doctor=carol.doctor, consultation_fee=Decimal("33.33"), currency="USD")
        clinic_setting_set(actor=ada, key="tax_rate", value="7.5")
        body = charge(client_for(rita), visit).json()
        # 33.33 * 7.5 % = 2.49975 → 2.50, half-up.
        assert (body["amount"], body["currency"]) == ("35.83", "USD")

    def test_cancelled_appointment_cannot_be_paid(self, client_for, rita, alice, carol):
        cancelled = appointment_at(doctor=carol, patient=alice, start=past(2), status="cancelled")
        response = charge(client_for(rita), cancelled)
        assert response.status_code == 409
        assert response.json()["code"] == "not_payable"


@pytest.mark.django_db
class TestChargeAccess:
    def test_no_token_is_401(self, anon, visit):
        assert charge(anon, visit).status_code == 401

    def test_patient_may_not_record_cash(self, client_for, alice, visit):
        response = charge(client_for(alice), visit, method="cash")
        assert response.status_code == 403

    def test_doctor_may_not_charge(self, client_for, carol, visit):
        assert charge(client_for(carol), visit, method="card").status_code == 403

    def test_another_patient_gets_404(self, client_for, bob, visit, stripe_stand_in):
        assert charge(client_for(bob), visit, method="card").status_code == 404

    def test_unknown_appointment_is_404(self, client_for, rita, visit):
        response = client_for(rita).post(
            URL, {"appointment": 999999, "method": "cash", "idempotency_key": "x"}, format="json"
        )
        assert response.status_code == 404

    def test_card_without_stripe_is_refused(self, client_for, alice, visit):
        response = charge(client_for(alice), visit, method="card")
        assert response.status_code == 400
        assert response.json()["code"] == "card_payments_unavailable"
        assert Payment.objects.count() == 0

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"method": "cash", "idempotency_key": "k"}, "appointment"),
            ({"appointment": 1, "method": "bitcoin", "idempotency_key": "k"}, "method"),
            ({"appointment": 1, "method": "cash"}, "idempotency_key"),
            ({"appointment": 1, "method": "cash", "idempotency_key": "has space"}, "idempotency_key"),
            ({"appointment": 1, "method": "cash", "idempotency_key": "k" * 129}, "idempotency_key"),
            ({"appointment": 1, "method": "cash", "idempotency_key": "k", "amount": "0"}, "amount"),
            ({"appointment": 1, "method": "cash", "idempotency_key": "k", "amount": "-5"}, "amount"),
            ({"appointment": 1, "method": "cash", "idempotency_key": "k", "amount": "1.005"}, "amount"),
            ({"appointment": 1, "method": "cash", "idempotency_key": "k", "amount": "abc"}, "amount"),
        ],
    )
    def test_bad_input_is_400_with_fields(self, client_for, rita, body, field):
        response = client_for(rita).post(URL, body, format="json")
        assert response.status_code == 400
        assert field in response.json()["fields"]


@pytest.mark.django_db
class TestPaymentReads:
    @pytest.fixture
    def paid(self, client_for, rita, visit):
        return charge(client_for(rita), visit).json()

    def test_history_of_the_patient_staff_admin_and_doctor(self, client_for, alice, bob, carol, dave, rita, ada, paid):
        def ids(user):
            response = client_for(user).get("/api/payments/history/")
            assert response.status_code == 200
            return [p["id"] for p in response.json()["results"]]

        assert ids(alice) == [paid["id"]]
        assert ids(rita) == [paid["id"]]
        assert ids(ada) == [paid["id"]]
        assert ids(carol) == [paid["id"]]  # the doctor's own appointment
        assert ids(bob) == []
        assert ids(dave) == []

    def test_history_needs_a_token(self, anon):
        assert anon.get("/api/payments/history/").status_code == 401

    def test_history_is_paginated_with_pinned_queries(
        self, client_for, rita, alice, carol, django_assert_max_num_queries
    ):
        for day in range(2, 7):
            visit = appointment_at(doctor=carol, patient=alice, start=past(day), status="completed")
            charge(client_for(rita), visit, key=f"k-{day}")
        client = client_for(alice)
        with django_assert_max_num_queries(4):
            body = client.get("/api/payments/history/?page_size=2").json()
        assert body["count"] == 5
        assert len(body["results"]) == 2

    def test_detail_for_the_patient_staff_admin(self, client_for, alice, rita, ada, paid):
        for user in (alice, rita, ada):
            response = client_for(user).get(f"/api/payments/{paid['id']}/")
            assert response.status_code == 200
            assert response.json()["id"] == paid["id"]

    def test_detail_refused_to_others(self, client_for, anon, bob, carol, paid):
        assert anon.get(f"/api/payments/{paid['id']}/").status_code == 401
        assert client_for(bob).get(f"/api/payments/{paid['id']}/").status_code == 404
        assert client_for(carol).get(f"/api/payments/{paid['id']}/").status_code == 403
        assert client_for(bob).get("/api/payments/999999/").status_code == 404

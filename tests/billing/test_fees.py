"""PUT /api/doctors/{id}/fee/ (added): a doctor's own consultation fee and currency."""

import pytest

from audit.models import AuditLog
from billing.models import DoctorFee
from billing.selectors import doctor_fee
from clinic.services import clinic_setting_set


def put_fee(client, doctor, **body):
    return client.put(f"/api/doctors/{doctor.doctor.pk}/fee/", body, format="json")


@pytest.mark.django_db
class TestDoctorFee:
    def test_staff_and_admin_set_it(self, client_for, rita, ada, carol):
        response = put_fee(client_for(rita), carol, consultation_fee="80.00", currency="USD")
        assert response.status_code == 200
        assert response.json() == {"doctor": carol.doctor.pk, "consultation_fee": "80.00", "currency": "USD"}
        assert put_fee(client_for(ada), carol, consultation_fee="90.00", currency="EUR").status_code == 200
        assert DoctorFee.objects.get().consultation_fee == 90
        assert AuditLog.objects.filter(action="doctor_fee.set").count() == 2

    def test_clinic_default_otherwise(self, ada, carol):
        assert [str(v) for v in doctor_fee(doctor_id=carol.doctor.pk)] == ["50.00", "EUR"]
        clinic_setting_set(actor=ada, key="currency", value="USD")
        clinic_setting_set(actor=ada, key="default_consultation_fee", value="65.5")
        assert [str(v) for v in doctor_fee(doctor_id=carol.doctor.pk)] == ["65.5", "USD"]

    def test_an_unsupported_clinic_currency_is_a_clear_409(self, client_for, ada, rita, visit):
        clinic_setting_set(actor=ada, key="currency", value="XYZ")
        response = client_for(rita).post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "cash", "idempotency_key": "k"},
            format="json",
        )
        assert response.status_code == 409
        assert response.json()["code"] == "currency_not_supported"

    def test_access(self, client_for, anon, alice, carol, dave):
        assert put_fee(anon, carol, consultation_fee="1.00", currency="EUR").status_code == 401
        for user in (alice, carol, dave):
            assert put_fee(client_for(user), carol, consultation_fee="1.00", currency="EUR").status_code == 403

    def test_unknown_doctor_is_404(self, client_for, ada):
        response = client_for(ada).put("/api/doctors/999999/fee/", {"consultation_fee": "1", "currency": "EUR"})
        assert response.status_code == 404

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"consultation_fee": "-1", "currency": "EUR"}, "consultation_fee"),
            ({"consultation_fee": "1.001", "currency": "EUR"}, "consultation_fee"),
            ({"consultation_fee": "1.50", "currency": "JPY"}, "consultation_fee"),
            ({"consultation_fee": "1", "currency": "BTC"}, "currency"),
            ({"currency": "EUR"}, "consultation_fee"),
        ],
    )
    def test_bad_input(self, client_for, ada, carol, body, field):
        response = put_fee(client_for(ada), carol, **body)
        assert response.status_code == 400
        assert field in response.json()["fields"]

"""Billing in the back office: payments and invoices to look up, a doctor's fee to set."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from audit.models import AdminActionLog, AuditLog
from billing import services
from billing.models import DoctorFee
from clinic.registry import clear_cache
from clinic.services import clinic_setting_set
from tests.backoffice import admin_login, submit
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db


def _yesterday() -> datetime:
    return (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def test_reception_finds_payments_and_invoices_read_only(rita, alice, carol):
    visit = appointment_at(doctor=carol, patient=alice, start=_yesterday(), status="completed")
    payment = services.payment_charge(
        actor=rita, appointment_id=visit.pk, method="cash", idempotency_key="desk-1"
    ).payment
    invoice, _ = services.invoice_generate(actor=rita, appointment_id=visit.pk)
    browser = admin_login(rita.email)

    link = f"/admin/billing/payment/{payment.pk}/change/"
    assert link in browser.get("/admin/billing/payment/?method__exact=cash").content.decode()
    assert link not in browser.get("/admin/billing/payment/?method__exact=card").content.decode()
    page = browser.get(link).content.decode()
    assert 'name="_save"' not in page
    assert "client_secret" not in page

    invoices = browser.get("/admin/billing/invoice/").content.decode()
    assert invoice.number in invoices
    assert browser.get("/admin/billing/invoice/add/").status_code == 403
    assert browser.get("/admin/billing/payment/add/").status_code == 403


def test_payments_name_their_appointment_in_the_clinics_time(rita, ada, alice, carol):
    # 20:00 UTC on 10 June is 10:00 on 11 June in Kiritimati, as reception reads it.
    clinic_setting_set(actor=ada, key="timezone", value="Pacific/Kiritimati")
    clear_cache()
    visit = appointment_at(doctor=carol, patient=alice, start=datetime(2026, 6, 10, 20, tzinfo=UTC), status="completed")
    services.payment_charge(actor=rita, appointment_id=visit.pk, method="cash", idempotency_key="desk-kiritimati")
    page = admin_login(rita.email).get("/admin/billing/payment/").content.decode()
    assert f"Appointment {visit.pk} Dr Carol Chen 2026-06-11 10:00 (completed)" in page
    assert "2026-06-10 20:00" not in page


def test_reception_sets_a_doctors_fee_through_the_service(rita, carol):
    browser = admin_login(rita.email)
    response = submit(
        browser,
        "/admin/billing/doctorfee/add/",
        {"doctor": carol.doctor.pk, "consultation_fee": "80.00", "currency": "EUR"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    fee = DoctorFee.objects.get(doctor=carol.doctor)
    assert (fee.consultation_fee, fee.currency) == (Decimal("80.00"), "EUR")
    assert AuditLog.objects.filter(action="doctor_fee.set", actor=rita).exists()
    assert AdminActionLog.objects.filter(action="doctorfee.added", admin=rita).exists()

    response = submit(
        browser, f"/admin/billing/doctorfee/{fee.pk}/change/", {"consultation_fee": "95.50", "currency": "EUR"}
    )
    assert response.status_code == 302
    fee.refresh_from_db()
    assert fee.consultation_fee == Decimal("95.50")
    assert AdminActionLog.objects.filter(action="doctorfee.changed", admin=rita).exists()


def test_a_negative_fee_is_refused_by_the_form(rita, carol):
    browser = admin_login(rita.email)
    response = submit(
        browser,
        "/admin/billing/doctorfee/add/",
        {"doctor": carol.doctor.pk, "consultation_fee": "-1", "currency": "EUR"},
    )
    assert response.status_code == 200
    assert not DoctorFee.objects.exists()

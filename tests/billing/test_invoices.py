"""POST /api/invoices/generate/ and GET /api/invoices/{id}/ (JSON and PDF), contract §7."""

import subprocess
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from audit.models import AuditLog
from billing import services
from billing.models import Invoice
from clinic.clock import clinic_timezone
from clinic.registry import clear_cache
from clinic.services import clinic_setting_set
from tests.billing.helpers import past
from tests.clock import clinic_date, clinic_day
from tests.factories import appointment_at

URL = "/api/invoices/generate/"


def generate(client, appointment_id):
    return client.post(URL, {"appointment": appointment_id}, format="json")


@pytest.mark.django_db
class TestGenerate:
    def test_doctor_generates_with_items_tax_and_total(self, client_for, ada, carol, visit):
        clinic_setting_set(actor=ada, key="tax_rate", value="19")
        response = generate(client_for(carol), visit.pk)
        assert response.status_code == 201
        body = response.json()
        # Numbered in the clinic's year (31 December in UTC is already 1 January in Kiritimati).
        assert body["number"] == f"INV-{clinic_day().year}-000001"
        assert body["appointment"] == visit.pk
        assert body["patient"] == visit.patient_id
        assert body["items"] == [
            {
                "description": f"Consultation with Dr Carol Chen on {clinic_date(visit.start):%Y-%m-%d}",
                "quantity": 1,
                "unit_price": "50.00",
                "total": "50.00",
            }
        ]
        assert (body["subtotal"], body["tax"], body["total"], body["currency"]) == ("50.00", "9.50", "59.50", "EUR")
        assert body["status"] == "issued"
        assert body["issued_at"]
        assert AuditLog.objects.filter(action="invoice.issued", object_id=str(body["id"])).exists()

    def test_again_is_200_and_the_same_invoice(self, client_for, rita, ada, visit):
        first = generate(client_for(rita), visit.pk)
        again = generate(client_for(ada), visit.pk)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        assert Invoice.objects.count() == 1

    def test_numbers_follow_on_without_gaps(self, client_for, rita, alice, carol):
        numbers = []
        for day in (3, 2, 1):
            appointment = appointment_at(doctor=carol, patient=alice, start=past(day), status="completed")
            numbers.append(generate(client_for(rita), appointment.pk).json()["number"])
        assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]

    def test_numbers_restart_each_year(self, rita, alice, carol):
        first = appointment_at(doctor=carol, patient=alice, start=past(3), status="completed")
        second = appointment_at(doctor=carol, patient=alice, start=past(2), status="completed")
        zone = clinic_timezone()
        a, _ = services.invoice_generate(
            actor=rita, appointment_id=first.pk, at=datetime(2026, 12, 31, 23, tzinfo=zone)
        )
        b, _ = services.invoice_generate(actor=rita, appointment_id=second.pk, at=datetime(2027, 1, 1, 1, tzinfo=zone))
        assert (a.number, b.number) == ("INV-2026-000001", "INV-2027-000001")

    @pytest.mark.parametrize(
        ("zone", "year"), [("UTC", 2026), ("Pacific/Kiritimati", 2027), ("Pacific/Pago_Pago", 2026)]
    )
    def test_the_year_is_the_clinics(self, ada, rita, alice, carol, zone, year):
        clinic_setting_set(actor=ada, key="timezone", value=zone)
        clear_cache()
        visit = appointment_at(doctor=carol, patient=alice, start=past(3), status="completed")
        invoice, _ = services.invoice_generate(
            actor=rita, appointment_id=visit.pk, at=datetime(2026, 12, 31, 10, 30, tzinfo=UTC)
        )
        assert invoice.number == f"INV-{year}-000001"

    @pytest.mark.parametrize(("zone", "day"), [("UTC", "2026-06-10"), ("Pacific/Kiritimati", "2026-06-11")])
    def test_the_item_names_the_clinics_day(self, client_for, ada, rita, alice, carol, zone, day, time_machine):
        # 20:00 UTC on 10 June is 10:00 on 11 June in Kiritimati: the patient came on the 11th.
        time_machine.move_to(datetime(2026, 6, 12, 12, tzinfo=UTC))
        clinic_setting_set(actor=ada, key="timezone", value=zone)
        clear_cache()
        start = datetime(2026, 6, 10, 20, tzinfo=UTC)
        visit = appointment_at(doctor=carol, patient=alice, start=start, status="completed")
        item = generate(client_for(rita), visit.pk).json()["items"][0]
        assert item["description"] == f"Consultation with Dr Carol Chen on {day}"

    def test_paid_in_advance_is_paid_at_once(self, client_for, rita, visit):
        client_for(rita).post(
            "/api/payments/charge/",
            {"appointment": visit.pk, "method": "cash", "idempotency_key": "k"},
            format="json",
        )
        assert generate(client_for(rita), visit.pk).json()["status"] == "paid"

    def test_payments_turn_it_paid(self, client_for, rita, visit):
        invoice_id = generate(client_for(rita), visit.pk).json()["id"]
        for key, amount in (("a", "20.00"), ("b", "30.00")):
            client_for(rita).post(
                "/api/payments/charge/",
                {"appointment": visit.pk, "method": "cash", "idempotency_key": key, "amount": amount},
                format="json",
            )
            status = Invoice.objects.get(pk=invoice_id).status
        assert status == "paid"
        assert AuditLog.objects.filter(action="invoice.paid", object_id=str(invoice_id)).count() == 1

    def test_not_completed_is_400(self, client_for, rita, alice, carol):
        booked = appointment_at(doctor=carol, patient=alice, start=past(1), status="in_progress")
        response = generate(client_for(rita), booked.pk)
        assert response.status_code == 400
        assert response.json()["code"] == "appointment_not_completed"

    def test_access(self, client_for, anon, alice, bob, dave, visit):
        assert generate(anon, visit.pk).status_code == 401
        assert generate(client_for(alice), visit.pk).status_code == 403
        assert generate(client_for(bob), visit.pk).status_code == 403
        assert generate(client_for(dave), visit.pk).status_code == 404  # not his appointment
        assert Invoice.objects.count() == 0

    @pytest.mark.parametrize("body", [{}, {"appointment": "x"}, {"appointment": 0}])
    def test_bad_input(self, client_for, rita, body):
        response = client_for(rita).post(URL, body, format="json")
        assert response.status_code == 400
        assert "appointment" in response.json()["fields"]

    def test_unknown_appointment_is_404(self, client_for, rita):
        assert generate(client_for(rita), 999999).status_code == 404


@pytest.mark.django_db
class TestDetail:
    @pytest.fixture
    def invoice(self, client_for, rita, visit):
        return generate(client_for(rita), visit.pk).json()

    def test_patient_staff_admin_read_it(self, client_for, alice, rita, ada, invoice):
        for user in (alice, rita, ada):
            response = client_for(user).get(f"/api/invoices/{invoice['id']}/")
            assert response.status_code == 200
            assert response.json() == invoice

    def test_others_are_refused(self, client_for, anon, alice, bob, carol, invoice):
        assert anon.get(f"/api/invoices/{invoice['id']}/").status_code == 401
        assert client_for(bob).get(f"/api/invoices/{invoice['id']}/").status_code == 404
        assert client_for(carol).get(f"/api/invoices/{invoice['id']}/").status_code == 403
        assert client_for(alice).get("/api/invoices/999999/").status_code == 404

    def test_format_json_is_the_json(self, client_for, alice, invoice):
        response = client_for(alice).get(f"/api/invoices/{invoice['id']}/?format=json")
        assert response.status_code == 200
        assert response.json() == invoice

    def test_unknown_format_is_406_in_json(self, client_for, alice, invoice):
        response = client_for(alice).get(f"/api/invoices/{invoice['id']}/?format=xml")
        assert response.status_code == 406
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "not_acceptable"

    def test_pdf_errors_are_json(self, client_for, anon, bob, invoice):
        for client, status in ((anon, 401), (client_for(bob), 404)):
            response = client.get(f"/api/invoices/{invoice['id']}/?format=pdf")
            assert response.status_code == status
            assert response["Content-Type"] == "application/json"
            assert response.json()["code"]


@pytest.mark.django_db
def test_pdf_opens_and_shows_the_number_and_total(client_for, alice, ada, carol, visit, tmp_path):
    services.doctor_fee_set(actor=ada, doctor=carol.doctor, consultation_fee=Decimal("1234.56"), currency="EUR")
    clinic_setting_set(actor=ada, key="tax_rate", value="7.7")
    invoice = generate(client_for(ada), visit.pk).json()
    assert invoice["total"] == "1329.62"  # 1234.56 + 95.06 (7.7 % = 95.061…)

    response = client_for(alice).get(f"/api/invoices/{invoice['id']}/?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert invoice["number"] in response["Content-Disposition"]
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(response.content)

    assert len(PdfReader(pdf).pages) == 1
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert invoice["number"] in text
    assert "1,329.62 EUR" in text
    assert "Alice Anders" in text
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 2000  # a page with ink on it, not a blank


@pytest.mark.django_db
def test_pdf_by_accept_header(client_for, rita, visit):
    invoice = generate(client_for(rita), visit.pk).json()
    response = client_for(rita).get(f"/api/invoices/{invoice['id']}/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")

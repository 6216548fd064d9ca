"""GET /api/invoices/list/ (added): a patient's own invoices; staff and admin: all."""

import pytest

from billing import services
from tests.billing.helpers import past
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db

URL = "/api/invoices/list/"


def test_a_patient_lists_their_own_invoices_only(client_for, alice, bob, carol, rita, visit):
    invoice, _ = services.invoice_generate(actor=rita, appointment_id=visit.pk)
    other = appointment_at(doctor=carol, patient=bob, start=past(2), status="completed")
    services.invoice_generate(actor=rita, appointment_id=other.pk)

    body = client_for(alice).get(URL).json()
    assert body["count"] == 1
    assert body["results"][0]["number"] == invoice.number
    assert body["results"][0]["patient"] == alice.patient.pk
    assert {"items", "total", "currency", "status"} <= set(body["results"][0])
    assert client_for(rita).get(URL).json()["count"] == 2


def test_the_list_is_refused_to_doctors_and_strangers(client_for, anon, carol):
    assert anon.get(URL).status_code == 401
    assert client_for(carol).get(URL).status_code == 403


def test_the_list_reads_a_fixed_number_of_queries(client_for, alice, carol, rita, django_assert_max_num_queries):
    for days in range(1, 4):
        appointment = appointment_at(doctor=carol, patient=alice, start=past(days), status="completed")
        services.invoice_generate(actor=rita, appointment_id=appointment.pk)
    client = client_for(alice)
    with django_assert_max_num_queries(6):
        assert client.get(URL).json()["count"] == 3

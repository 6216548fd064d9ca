"""Doctor reviews: POST/GET /api/doctors/{id}/reviews/ and the rating on the Doctor payload."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditLog
from reviews.models import Review
from reviews.services import review_create, review_hide
from tests import factories
from tests.concurrency import run_together
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db


def _past(days: int) -> object:
    return (timezone.now() - timedelta(days=days)).replace(microsecond=0)


@pytest.fixture
def visit(alice, carol):
    """alice's completed appointment with carol."""
    return appointment_at(doctor=carol, patient=alice, start=_past(3), status="completed")


def _url(doctor) -> str:
    return f"/api/doctors/{doctor.doctor.pk}/reviews/"


def test_patient_reviews_a_completed_appointment(client_for, alice, carol, visit):
    response = client_for(alice).post(
        _url(carol), {"appointment": visit.pk, "rating": 5, "comment": "Kind and clear."}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["doctor"], body["appointment"], body["rating"]) == (carol.doctor.pk, visit.pk, 5)
    assert body["author"] == "Alice A."
    assert AuditLog.objects.filter(action="review.created", actor=alice).exists()

    listed = client_for(alice).get(_url(carol)).json()
    assert listed["count"] == 1
    assert listed["results"][0]["comment"] == "Kind and clear."


@pytest.mark.parametrize("status", ["booked", "checked_in", "in_progress", "no_show", "cancelled"])
def test_no_review_without_a_completed_appointment(client_for, alice, carol, status):
    appointment = appointment_at(doctor=carol, patient=alice, start=_past(2), status=status)
    response = client_for(alice).post(_url(carol), {"appointment": appointment.pk, "rating": 4}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "appointment_not_completed"
    assert response.json()["fields"] == {"appointment": ["The appointment is not completed."]}
    assert not Review.objects.exists()


def test_one_review_per_appointment(client_for, alice, carol, visit):
    client = client_for(alice)
    assert client.post(_url(carol), {"appointment": visit.pk, "rating": 4}, format="json").status_code == 201
    again = client.post(_url(carol), {"appointment": visit.pk, "rating": 1}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_reviewed"
    # Another completed visit may be reviewed.
    later = appointment_at(doctor=carol, patient=alice, start=_past(1), status="completed")
    assert client.post(_url(carol), {"appointment": later.pk, "rating": 2}, format="json").status_code == 201
    assert Review.objects.count() == 2


@pytest.mark.parametrize("rating", [0, 6, -1, "five", None, 4.5])
def test_rating_bounds(client_for, alice, carol, visit, rating):
    response = client_for(alice).post(_url(carol), {"appointment": visit.pk, "rating": rating}, format="json")
    assert response.status_code == 400
    assert "rating" in response.json()["fields"]


def test_bad_input_is_400_with_fields(client_for, alice, carol):
    response = client_for(alice).post(_url(carol), {"comment": "x" * 2001}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"appointment", "rating", "comment"}


def test_service_refuses_rating_out_of_bounds(alice, carol, visit):
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        review_create(actor=alice, doctor=carol.doctor, appointment_id=visit.pk, rating=6)


def test_another_patients_appointment_is_404(client_for, bob, carol, visit):
    response = client_for(bob).post(_url(carol), {"appointment": visit.pk, "rating": 1}, format="json")
    assert response.status_code == 404


def test_appointment_with_another_doctor_is_404(client_for, alice, dave, visit):
    response = client_for(alice).post(_url(dave), {"appointment": visit.pk, "rating": 1}, format="json")
    assert response.status_code == 404


def test_unknown_or_unapproved_doctor_is_404(client_for, alice):
    pending = factories.DoctorFactory(approved=False)
    for doctor_id in (pending.doctor.pk, 999999):
        url = f"/api/doctors/{doctor_id}/reviews/"
        assert client_for(alice).get(url).status_code == 404
        assert client_for(alice).post(url, {"appointment": 1, "rating": 3}, format="json").status_code == 404


def test_no_token_is_401(anon, carol):
    assert anon.get(_url(carol)).status_code == 401
    assert anon.post(_url(carol), {"appointment": 1, "rating": 3}, format="json").status_code == 401


def test_only_patients_write_reviews(client_for, carol, rita, ada, visit):
    for user in (carol, rita, ada):
        response = client_for(user).post(_url(carol), {"appointment": visit.pk, "rating": 5}, format="json")
        assert response.status_code == 403


def test_doctor_payload_carries_rating_and_count(client_for, alice, bob, carol, dave):
    for patient, rating in ((alice, 5), (bob, 4), (alice, 2)):
        appointment = appointment_at(
            doctor=carol, patient=patient, start=_past(10 + Review.objects.count()), status="completed"
        )
        review_create(actor=patient, doctor=carol.doctor, appointment_id=appointment.pk, rating=rating)

    detail = client_for(bob).get(f"/api/doctors/{carol.doctor.pk}/").json()
    assert (detail["rating"], detail["review_count"]) == (3.67, 3)

    listing = {d["id"]: d for d in client_for(bob).get("/api/doctors/list/").json()["results"]}
    assert (listing[carol.doctor.pk]["rating"], listing[carol.doctor.pk]["review_count"]) == (3.67, 3)
    assert (listing[dave.doctor.pk]["rating"], listing[dave.doctor.pk]["review_count"]) == (None, 0)


def test_hidden_reviews_are_neither_listed_nor_counted(client_for, alice, carol, ada, visit):
    review = review_create(actor=alice, doctor=carol.doctor, appointment_id=visit.pk, rating=1, comment="Rude!")
    review_hide(actor=ada, review=review)
    assert client_for(alice).get(_url(carol)).json()["count"] == 0
    detail = client_for(alice).get(f"/api/doctors/{carol.doctor.pk}/").json()
    assert (detail["rating"], detail["review_count"]) == (None, 0)
    assert AuditLog.objects.filter(action="review.hidden", actor=ada).exists()


def test_doctor_list_query_count_does_not_grow_with_doctors_or_reviews(client_for, alice):
    client = client_for(alice)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/doctors/list/").status_code == 200
        return len(queries)

    doctor = factories.DoctorFactory()
    appointment = appointment_at(doctor=doctor, patient=alice, start=_past(5), status="completed")
    review_create(actor=alice, doctor=doctor.doctor, appointment_id=appointment.pk, rating=3)
    few = count_queries()
    for n in range(4):
        more = factories.DoctorFactory()
        appointment = appointment_at(doctor=more, patient=alice, start=_past(20 + n), status="completed")
        review_create(actor=alice, doctor=more.doctor, appointment_id=appointment.pk, rating=4)
    assert count_queries() == few


@pytest.mark.django_db(transaction=True)
def test_racing_reviews_of_one_appointment_make_one_review(alice, carol):
    appointment = appointment_at(doctor=carol, patient=alice, start=_past(4), status="completed")
    results = run_together(
        4, lambda _: review_create(actor=alice, doctor=carol.doctor, appointment_id=appointment.pk, rating=5)
    )
    outcomes = [getattr(r, "code", type(r).__name__) if isinstance(r, Exception) else "created" for r in results]
    assert sorted(outcomes) == ["already_reviewed"] * 3 + ["created"]
    assert Review.objects.filter(appointment=appointment).count() == 1

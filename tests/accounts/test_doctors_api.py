"""GET /api/doctors/list/, GET /api/doctors/{id}/, PUT /api/doctors/{id}/approve/."""

import pytest

from audit.models import AuditLog
from tests import factories
from tests.assertions import assert_error

LIST = "/api/doctors/list/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(db):
    """A doctor who signed up and waits for approval."""
    return factories.DoctorFactory(
        email="newcomer@example.test",
        first_name="Nora",
        last_name="Newman",
        specialization="Cardiology",
        approved=False,
    )


def ids(response):
    assert response.status_code == 200, response.content
    return {d["id"] for d in response.json()["results"]}


# --- list --------------------------------------------------------------------------------


def test_patients_and_doctors_see_approved_doctors_only(client_for, alice, carol, dave, newcomer):
    for user in (alice, carol, newcomer):
        assert ids(client_for(user).get(LIST)) == {carol.doctor.id, dave.doctor.id}


@pytest.mark.parametrize("persona", ["rita", "ada"])
def test_staff_and_admin_also_see_unapproved_doctors(client_for, carol, dave, newcomer, persona, request):
    assert ids(client_for(request.getfixturevalue(persona)).get(LIST)) == {
        carol.doctor.id,
        dave.doctor.id,
        newcomer.doctor.id,
    }


def test_list_is_a_page_of_doctors(client_for, alice, carol):
    body = client_for(alice).get(LIST).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["results"] == [
        {
            "id": carol.doctor.id,
            "user_id": carol.id,
            "first_name": "Carol",
            "last_name": "Chen",
            "specialization": "General Practice",
            "qualifications": "MD",
            "experience_years": 7,
            "is_approved": True,
            "rating": None,
            "review_count": 0,
        }
    ]


def test_list_filters_by_specialization_and_search(client_for, ada, carol, dave, newcomer):
    client = client_for(ada)
    assert ids(client.get(LIST, {"specialization": "cardiology"})) == {newcomer.doctor.id}
    assert ids(client.get(LIST, {"search": "diaz"})) == {dave.doctor.id}
    assert ids(client.get(LIST, {"search": "Carol Chen"})) == {carol.doctor.id}
    assert ids(client.get(LIST, {"search": "general"})) == {carol.doctor.id, dave.doctor.id}
    assert ids(client.get(LIST, {"search": "nobody"})) == set()
    assert ids(client.get(LIST, {"specialization": "", "search": ""})) == {
        carol.doctor.id,
        dave.doctor.id,
        newcomer.doctor.id,
    }


def test_list_leaves_out_deactivated_doctors(client_for, ada, alice, carol, dave):
    from accounts.services import user_deactivate

    user_deactivate(actor=ada, user=dave)
    assert ids(client_for(alice).get(LIST)) == {carol.doctor.id}


def test_list_pages(client_for, alice, db):
    for index in range(3):
        factories.DoctorFactory(last_name=f"Zed{index}")
    client = client_for(alice)
    body = client.get(LIST, {"page_size": 2}).json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"] and body["previous"] is None
    assert len(client.get(LIST, {"page_size": 2, "page": 2}).json()["results"]) == 1
    assert_error(client.get(LIST, {"page": 9}), 404, "not_found")


def test_list_query_count_does_not_grow_with_doctors(client_for, alice, django_assert_num_queries):
    for _ in range(5):
        factories.DoctorFactory()
    client = client_for(alice)
    # auth (token + user + profiles), count, page.
    with django_assert_num_queries(3):
        assert client.get(LIST).status_code == 200


def test_list_refuses_bad_filters_with_fields(client_for, alice):
    response = client_for(alice).get(LIST, {"search": "x" * 201, "specialization": "y" * 121})
    assert_error(response, 400, "invalid", fields={"search", "specialization"})


def test_list_needs_a_token(anon):
    assert_error(anon.get(LIST), 401, "not_authenticated")


# --- detail ------------------------------------------------------------------------------


def test_detail_shows_an_approved_doctor(client_for, alice, carol):
    response = client_for(alice).get(f"/api/doctors/{carol.doctor.id}/")
    assert response.status_code == 200
    assert response.json()["last_name"] == "Chen"


def test_an_unapproved_doctor_is_hidden_from_others_but_not_from_themself(client_for, alice, dave, rita, newcomer):
    url = f"/api/doctors/{newcomer.doctor.id}/"
    assert_error(client_for(alice).get(url), 404, "not_found")
    assert_error(client_for(dave).get(url), 404, "not_found")
    assert client_for(newcomer).get(url).json()["is_approved"] is False
    assert client_for(rita).get(url).status_code == 200


def test_detail_of_an_unknown_doctor_is_404(client_for, alice):
    assert_error(client_for(alice).get("/api/doctors/999999/"), 404, "not_found")
    assert_error(client_for(alice).get(f"/api/doctors/{10**30}/"), 404, "not_found")


def test_detail_needs_a_token(anon, carol):
    assert_error(anon.get(f"/api/doctors/{carol.doctor.id}/"), 401, "not_authenticated")


# --- approve -----------------------------------------------------------------------------


def test_admin_approves_a_doctor_who_then_is_listed(client_for, ada, alice, newcomer):
    response = client_for(ada).put(f"/api/doctors/{newcomer.doctor.id}/approve/")
    assert response.status_code == 200, response.content
    assert response.json()["is_approved"] is True
    assert newcomer.doctor.id in ids(client_for(alice).get(LIST))
    entry = AuditLog.objects.get(action="doctor.approved", object_id=str(newcomer.doctor.id))
    assert (entry.actor_id, entry.object_type) == (ada.id, "doctor")
    # Approving again changes nothing and logs nothing.
    assert client_for(ada).put(f"/api/doctors/{newcomer.doctor.id}/approve/").status_code == 200
    assert AuditLog.objects.filter(action="doctor.approved", object_id=str(newcomer.doctor.id)).count() == 1


@pytest.mark.parametrize("persona", ["alice", "carol", "rita"])
def test_approve_is_for_admins_only(client_for, newcomer, persona, request):
    response = client_for(request.getfixturevalue(persona)).put(f"/api/doctors/{newcomer.doctor.id}/approve/")
    assert_error(response, 403, "permission_denied")
    newcomer.doctor.refresh_from_db()
    assert newcomer.doctor.is_approved is False


def test_approve_of_an_unknown_doctor_is_404(client_for, ada):
    assert_error(client_for(ada).put("/api/doctors/999999/approve/"), 404, "not_found")


def test_approve_needs_a_token(anon, newcomer):
    assert_error(anon.put(f"/api/doctors/{newcomer.doctor.id}/approve/"), 401, "not_authenticated")


def test_approve_ignores_a_body(client_for, ada, newcomer):
    response = client_for(ada).put(f"/api/doctors/{newcomer.doctor.id}/approve/", {"is_approved": False}, format="json")
    assert response.json()["is_approved"] is True

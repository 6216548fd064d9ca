"""Messages between a patient and a doctor within a care relation, delivered live."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Message
from realtime.models import Event
from tests import factories


@pytest.fixture
def care(alice, carol):
    """alice is carol's patient (a past appointment is enough)."""
    return factories.appointment_at(
        doctor=carol, patient=alice, start=timezone.now() - timedelta(days=30), status="completed"
    )


@pytest.mark.django_db
class TestSend:
    url = "/api/messages/send/"

    def test_patient_writes_to_her_doctor_and_it_arrives_live(self, client_for, care, alice, carol):
        response = client_for(alice).post(
            self.url, {"recipient": carol.pk, "body": "Can I move my visit?"}, format="json"
        )

        assert response.status_code == 201
        body = response.json()
        assert body["sender"] == alice.pk and body["recipient"] == carol.pk and body["read_at"] is None
        event = Event.objects.get(topic=f"user.{carol.pk}.notifications", name="message.created")
        assert event.data["id"] == body["id"]

    def test_doctor_writes_back(self, client_for, care, alice, carol):
        response = client_for(carol).post(self.url, {"recipient": alice.pk, "body": "Of course."}, format="json")
        assert response.status_code == 201

    def test_bad_input(self, client_for, care, alice, carol):
        response = client_for(alice).post(self.url, {"recipient": "carol", "body": ""}, format="json")
        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"recipient", "body"}

    def test_no_token(self, anon, carol):
        assert anon.post(self.url, {"recipient": carol.pk, "body": "x"}, format="json").status_code == 401

    @pytest.mark.parametrize("persona", ["rita", "ada"])
    def test_staff_and_admin_do_not_message(self, request, client_for, care, persona, alice):
        client = client_for(request.getfixturevalue(persona))
        assert client.post(self.url, {"recipient": alice.pk, "body": "x"}, format="json").status_code == 403

    @pytest.mark.parametrize(
        ("sender", "recipient"),
        [
            ("alice", "dave"),
            ("bob", "carol"),
            ("dave", "alice"),
            ("alice", "bob"),
            ("carol", "dave"),
            ("alice", "alice"),
        ],
    )
    def test_outside_a_care_relation_is_404(self, request, client_for, care, sender, recipient):
        client = client_for(request.getfixturevalue(sender))
        response = client.post(
            self.url, {"recipient": request.getfixturevalue(recipient).pk, "body": "x"}, format="json"
        )
        assert response.status_code == 404
        assert not Message.objects.exists()


@pytest.mark.django_db
class TestListAndRead:
    @pytest.fixture
    def message(self, care, alice, carol):
        return Message.objects.create(sender=alice, recipient=carol, body="Hello doctor")

    def test_both_sides_see_it_and_others_do_not(self, client_for, message, alice, bob, carol, dave):
        for persona, count in ((alice, 1), (carol, 1), (bob, 0), (dave, 0)):
            response = client_for(persona).get("/api/messages/list/")
            assert response.status_code == 200
            assert response.json()["count"] == count

    def test_filter_by_conversation(self, client_for, message, alice, carol, dave):
        client = client_for(alice)
        assert client.get(f"/api/messages/list/?with_user={carol.pk}").json()["count"] == 1
        assert client.get(f"/api/messages/list/?with_user={dave.pk}").json()["count"] == 0
        assert client.get("/api/messages/list/?with_user=abc").status_code == 400

    def test_recipient_marks_read(self, client_for, message, carol):
        response = client_for(carol).put(f"/api/messages/{message.pk}/read/")
        assert response.status_code == 200
        assert response.json()["read_at"] is not None

    @pytest.mark.parametrize("persona", ["alice", "bob", "dave", "ada"])
    def test_only_the_recipient_marks_read(self, request, client_for, message, persona):
        response = client_for(request.getfixturevalue(persona)).put(f"/api/messages/{message.pk}/read/")
        assert response.status_code == 404
        message.refresh_from_db()
        assert message.read_at is None

    def test_no_token(self, anon, message):
        assert anon.get("/api/messages/list/").status_code == 401
        assert anon.put(f"/api/messages/{message.pk}/read/").status_code == 401


@pytest.mark.django_db
def test_messages_are_rate_limited_per_sender(client_for, settings, care, alice, carol):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "send": "2/hour"}
    client = client_for(alice)

    statuses = [
        client.post("/api/messages/send/", {"recipient": carol.pk, "body": "x"}, format="json").status_code
        for _ in range(3)
    ]

    assert statuses == [201, 201, 429]
    assert Message.objects.count() == 2

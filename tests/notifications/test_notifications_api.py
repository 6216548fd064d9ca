"""Contract §6 endpoints, plus the added preferences endpoint, with the personas."""

import pytest

from notifications import services
from notifications.models import Notification
from realtime.models import Event


def _notify(user, channel="in_app", body="Hello"):
    return Notification.objects.create(user=user, channel=channel, kind="admin", body=body, status="sent")


@pytest.mark.django_db
class TestSend:
    url = "/api/notifications/send/"

    def test_admin_sends_in_the_background(self, client_for, ada, alice_reachable, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(ada).post(
                self.url, {"user": alice_reachable.pk, "channel": "sms", "body": "Please call us."}, format="json"
            )

        assert response.status_code == 202
        body = response.json()
        assert set(body) >= {
            "id", "channel", "kind", "subject", "body", "status", "appointment", "created_at", "sent_at", "read_at"
        }  # fmt: skip
        assert body["channel"] == "sms" and body["kind"] == "admin" and body["appointment"] is None
        assert body["status"] == "pending"
        assert Notification.objects.get(pk=body["id"]).status == "sent"  # eager tasks, console sender

    def test_in_app_is_delivered_live(self, client_for, ada, alice):
        response = client_for(ada).post(
            self.url, {"user": alice.pk, "channel": "in_app", "subject": "Hi", "body": "Welcome"}, format="json"
        )

        assert response.status_code == 202
        assert response.json()["status"] == "sent"
        event = Event.objects.get(topic=f"user.{alice.pk}.notifications")
        assert event.name == "notification.created"
        assert event.data["id"] == response.json()["id"]

    def test_bad_input(self, client_for, ada, alice):
        response = client_for(ada).post(self.url, {"user": 999999, "channel": "pigeon"}, format="json")

        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"user", "channel", "body"}

    def test_no_phone_or_opted_out_is_400(self, client_for, ada, alice):
        client = client_for(ada)
        no_phone = client.post(self.url, {"user": alice.pk, "channel": "sms", "body": "x"}, format="json")
        services.preference_update(actor=alice, user=alice, changes={"email": False})
        opted_out = client.post(self.url, {"user": alice.pk, "channel": "email", "body": "x"}, format="json")

        assert no_phone.status_code == 400 and "channel" in no_phone.json()["fields"]
        assert opted_out.status_code == 400 and "channel" in opted_out.json()["fields"]

    def test_no_token(self, anon, alice):
        assert (
            anon.post(self.url, {"user": alice.pk, "channel": "email", "body": "x"}, format="json").status_code == 401
        )

    @pytest.mark.parametrize("persona", ["alice", "carol", "rita"])
    def test_only_admins(self, request, client_for, persona, bob):
        response = client_for(request.getfixturevalue(persona)).post(
            self.url, {"user": bob.pk, "channel": "email", "body": "x"}, format="json"
        )
        assert response.status_code == 403
        assert not Notification.objects.exists()

    def test_rate_limited_per_recipient(self, client_for, settings, ada, alice, bob):
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "send": "2/hour"}
        client = client_for(ada)
        statuses = [
            client.post(self.url, {"user": alice.pk, "channel": "in_app", "body": "x"}, format="json").status_code
            for _ in range(3)
        ]
        other = client.post(self.url, {"user": bob.pk, "channel": "in_app", "body": "x"}, format="json")

        assert statuses == [202, 202, 429]
        assert other.status_code == 202
        assert Notification.objects.filter(user=alice).count() == 2


@pytest.mark.django_db
class TestListDetailRead:
    def test_list_shows_only_mine(self, client_for, alice, bob):
        mine = _notify(alice)
        _notify(bob)

        response = client_for(alice).get("/api/notifications/list/")

        assert response.status_code == 200
        assert response.json()["count"] == 1
        assert response.json()["results"][0]["id"] == mine.pk

    def test_list_is_paginated_in_few_queries(self, client_for, alice, django_assert_max_num_queries):
        for i in range(5):
            _notify(alice, body=f"n{i}")
        client = client_for(alice)
        with django_assert_max_num_queries(4):
            response = client.get("/api/notifications/list/?page_size=2")
        assert response.json()["count"] == 5 and len(response.json()["results"]) == 2

    def test_detail(self, client_for, alice):
        notification = _notify(alice)
        response = client_for(alice).get(f"/api/notifications/{notification.pk}/")
        assert response.status_code == 200
        assert response.json()["body"] == "Hello"

    def test_someone_elses_is_404(self, client_for, alice, bob, ada):
        notification = _notify(alice)
        for persona in (bob, ada):
            client = client_for(persona)
            assert client.get(f"/api/notifications/{notification.pk}/").status_code == 404
            assert client.put(f"/api/notifications/{notification.pk}/read/").status_code == 404
        notification.refresh_from_db()
        assert notification.read_at is None

    def test_read(self, client_for, alice):
        notification = _notify(alice)
        client = client_for(alice)

        first = client.put(f"/api/notifications/{notification.pk}/read/")
        again = client.put(f"/api/notifications/{notification.pk}/read/")

        assert first.status_code == 200 and first.json()["read_at"] is not None
        assert again.json()["read_at"] == first.json()["read_at"]

    def test_no_token(self, anon, alice):
        notification = _notify(alice)
        assert anon.get("/api/notifications/list/").status_code == 401
        assert anon.get(f"/api/notifications/{notification.pk}/").status_code == 401
        assert anon.put(f"/api/notifications/{notification.pk}/read/").status_code == 401

    def test_sending_shows_as_pending(self, client_for, alice):
        notification = Notification.objects.create(
            user=alice, channel="email", kind="admin", body="x", status="sending"
        )
        assert client_for(alice).get(f"/api/notifications/{notification.pk}/").json()["status"] == "pending"


@pytest.mark.django_db
class TestPreferences:
    url = "/api/notifications/preferences/"

    def test_all_on_by_default_then_changed(self, client_for, alice):
        client = client_for(alice)
        assert client.get(self.url).json() == {"sms": True, "email": True, "in_app": True}

        response = client.put(self.url, {"sms": False}, format="json")

        assert response.status_code == 200
        assert response.json() == {"sms": False, "email": True, "in_app": True}
        assert client.get(self.url).json()["sms"] is False

    def test_bad_input(self, client_for, alice):
        client = client_for(alice)
        assert client.put(self.url, {"sms": "perhaps"}, format="json").status_code == 400
        assert client.put(self.url, {}, format="json").status_code == 400

    def test_no_token(self, anon):
        assert anon.get(self.url).status_code == 401
        assert anon.put(self.url, {"sms": False}, format="json").status_code == 401

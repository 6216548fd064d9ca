"""realtime.selectors for the websocket's auth and subscribe: the subscribe decision and, for
a fresh subscription only, the newest id on the topic (a resuming socket replays from its
own id instead); who a token is. Many sockets' reads at once cost the queries of one."""

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import AuthToken, User
from core.roles import Role
from core.tokens import hash_token
from realtime import selectors, topics
from realtime.publish import publish
from tests.realtime.helpers import slot_data

pytestmark = pytest.mark.django_db


def test_a_fresh_subscription_reads_the_newest_id_a_resuming_one_does_not(alice, carol, django_assert_num_queries):
    topic = topics.doctor_availability(carol.doctor.pk)
    with transaction.atomic():
        newest = publish(topic=topic, event="slot.released", data=slot_data(carol.doctor.pk))
    principal = selectors.Principal(user_id=alice.pk, role=Role.PATIENT)
    with django_assert_num_queries(2):  # the doctor exists; the newest id
        assert selectors.subscribe_start(principal, topic, resuming=False) == (selectors.ALLOWED, newest.pk)
    with django_assert_num_queries(1):
        assert selectors.subscribe_start(principal, topic, resuming=True) == (selectors.ALLOWED, 0)


def test_many_subscribes_are_two_queries_whatever_their_number(alice, rita, carol, dave, django_assert_num_queries):
    with transaction.atomic():
        newest = publish(
            topic=topics.doctor_availability(carol.doctor.pk), event="slot.released", data=slot_data(carol.doctor.pk)
        )
    patient = selectors.Principal(user_id=alice.pk, role=Role.PATIENT)
    staff = selectors.Principal(user_id=rita.pk, role=Role.STAFF)
    requests = [(patient, topics.doctor_availability(carol.doctor.pk), False)] * 50 + [
        (patient, topics.doctor_availability(dave.doctor.pk), False),
        (patient, topics.doctor_queue(carol.doctor.pk), False),
        (staff, topics.doctor_queue(carol.doctor.pk), False),
        (staff, topics.display_doctor(987654), False),
        (patient, topics.user_notifications(alice.pk), False),
        (patient, topics.user_notifications(rita.pk), False),
        (patient, "no.such.topic", False),
        (patient, topics.doctor_availability(carol.doctor.pk), True),
    ]
    # The doctors' existence; the newest id of each topic freshly allowed, side by side.
    with django_assert_num_queries(2):
        answers = selectors.subscribe_starts(requests)
    assert answers == [(selectors.ALLOWED, newest.pk)] * 50 + [
        (selectors.ALLOWED, 0),
        (selectors.FORBIDDEN, 0),
        (selectors.ALLOWED, 0),
        (selectors.UNKNOWN_TOPIC, 0),
        (selectors.ALLOWED, 0),
        (selectors.FORBIDDEN, 0),
        (selectors.UNKNOWN_TOPIC, 0),
        (selectors.ALLOWED, 0),
    ]
    # Each answer is the one subscribe_start gives alone.
    assert answers == [selectors.subscribe_start(p, t, resuming=r) for p, t, r in requests]


def test_a_notifications_subscribe_looks_up_no_doctor(alice, bob, django_assert_num_queries):
    principal = selectors.Principal(user_id=alice.pk, role=Role.PATIENT)
    with django_assert_num_queries(0):  # refused before any lookup; resuming reads no newest id
        assert selectors.subscribe_start(principal, topics.user_notifications(bob.pk), resuming=False) == (
            selectors.FORBIDDEN,
            0,
        )
        assert selectors.subscribe_start(principal, topics.user_notifications(alice.pk), resuming=True) == (
            selectors.ALLOWED,
            0,
        )


def test_many_tokens_are_one_query_per_kind(alice, bob, carol, rita, display_token, django_assert_num_queries):
    patient, doctor, staff, expired, revoked, inactive = (
        accounts_services.token_issue(user=user).token for user in (alice, carol, rita, alice, alice, bob)
    )
    AuthToken.objects.filter(key_hash=hash_token(expired)).update(expires_at=timezone.now())
    AuthToken.objects.filter(key_hash=hash_token(revoked)).update(revoked_at=timezone.now())
    User.objects.filter(pk=bob.pk).update(is_active=False)
    raws: list[object] = [patient, doctor, staff, display_token, expired, revoked, inactive, "dsp_unknown", "unknown"]
    raws += [None, 42, "", "x" * 300]
    with django_assert_num_queries(2):  # the API tokens; the display tokens
        principals = selectors.principals_for_tokens(raws)
    assert [(p.user_id, p.role, p.doctor_id) if p else None for p in principals[:3]] == [
        (alice.pk, Role.PATIENT, None),
        (carol.pk, Role.DOCTOR, carol.doctor.pk),
        (rita.pk, Role.STAFF, None),
    ]
    assert principals[3] is not None and principals[3].is_display
    assert principals[4:] == [None] * 9
    assert principals == [selectors.principal_for_token(raw) for raw in raws]

"""realtime.selectors.subscribe_start: the subscribe decision and, for a fresh subscription
only, the newest id on the topic (a resuming socket replays from its own id instead)."""

import pytest
from django.db import transaction

from core.roles import Role
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

"""`audit_record_each`: one INSERT for many entries, each the same as `audit_record` writes."""

import pytest

from audit.models import AuditLog
from audit.services import audit_record, audit_record_each

pytestmark = pytest.mark.django_db

FIELDS = ("actor_id", "action", "object_type", "ip", "user_agent", "details")


def test_each_entry_is_the_one_audit_record_would_write(ada, alice, django_assert_num_queries):
    users = [ada, alice]
    with django_assert_num_queries(1):
        each = audit_record_each(actor=ada, action="test.each", objs=users, details={"a": 1})
    one = [audit_record(actor=ada, action="test.each", obj=user, details={"a": 1}) for user in users]

    stored = {entry.pk: entry for entry in AuditLog.objects.filter(action="test.each")}
    assert len(stored) == 4
    for bulk, single in zip(each, one, strict=True):
        assert bulk.object_id == single.object_id
        assert [getattr(stored[bulk.pk], f) for f in FIELDS] == [getattr(stored[single.pk], f) for f in FIELDS]
    assert [stored[e.pk].object_id for e in each] == [str(ada.pk), str(alice.pk)]


def test_nothing_to_record_writes_nothing(ada, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert audit_record_each(actor=ada, action="test.each", objs=[]) == []

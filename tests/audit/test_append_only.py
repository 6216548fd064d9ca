"""The audit tables are append-only: PostgreSQL itself refuses UPDATE and DELETE."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AdminActionLog, AuditLog
from audit.services import admin_action_record, audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(ada):
    return audit_record(actor=ada, action="test.recorded", details={"a": 1})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditlog SET action = 'test.rewritten' WHERE id = %s",
        "DELETE FROM audit_auditlog WHERE id = %s",
        "UPDATE audit_auditlog SET details = '{}'::jsonb",
        "DELETE FROM audit_auditlog",
    ],
)
def test_raw_sql_cannot_change_the_audit_log(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.id] if "%s" in sql else [])
    assert AuditLog.objects.get(pk=entry.pk).action == "test.recorded"


@pytest.mark.parametrize("table", ["audit_auditlog", "audit_adminactionlog"])
def test_both_tables_carry_the_trigger(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_manipulation FROM information_schema.triggers WHERE event_object_table = %s", [table]
        )
        assert {row[0] for row in cursor.fetchall()} == {"UPDATE", "DELETE"}


def test_the_orm_cannot_change_the_audit_log_either(entry):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(action="test.rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()
    entry.action = "test.rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()
    assert AuditLog.objects.get(pk=entry.pk).action == "test.recorded"


def test_the_admin_action_log_is_append_only_and_audited(ada, alice):
    record = admin_action_record(admin=ada, action="user.viewed", obj=alice, description="looked")
    assert AuditLog.objects.filter(action="admin.user.viewed", actor=ada, object_id=str(alice.id)).exists()
    with pytest.raises(DatabaseError), transaction.atomic():
        AdminActionLog.objects.filter(pk=record.pk).delete()
    assert AdminActionLog.objects.filter(pk=record.pk).exists()


def test_an_audit_entry_rolls_back_with_its_change(alice):
    before = AuditLog.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=alice, action="test.doomed")
        raise RuntimeError
    assert AuditLog.objects.count() == before

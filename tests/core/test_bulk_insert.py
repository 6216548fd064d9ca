"""A bulk insert of a few rows is written as VALUES, a large one with UNNEST (core/postgresql/compiler.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditLog
from core.postgresql.compiler import UNNEST_MIN_ROWS

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's bulk insert")


def _bulk_insert(count: int) -> str:
    rows = [AuditLog(action="test.bulk", object_id=str(n), details={"n": n}) for n in range(count)]
    with CaptureQueriesContext(connection) as captured:
        made = AuditLog.objects.bulk_create(rows)
    assert [row.pk for row in made] == sorted(row.pk for row in made) and all(made)
    stored = AuditLog.objects.filter(action="test.bulk").order_by("id")
    assert [(row.object_id, row.details) for row in stored] == [(str(n), {"n": n}) for n in range(count)]
    (insert,) = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("INSERT")]
    return insert


@pytest.mark.django_db
def test_a_few_rows_are_inserted_as_values():
    sql = _bulk_insert(2)
    assert "UNNEST" not in sql and " VALUES " in sql


@pytest.mark.django_db
def test_many_rows_are_inserted_with_unnest():
    assert "UNNEST" in _bulk_insert(UNNEST_MIN_ROWS)

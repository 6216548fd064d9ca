"""Django's PostgreSQL SQL compilers, a bulk insert of a few rows written as VALUES.

Django 5.2 writes every bulk insert of two rows or more as `INSERT ... SELECT * FROM
UNNEST(%s::type[], ...)`: one array parameter a column, to spare PostgreSQL the planning
of many placeholders. With prepared statements (config/settings/database.py) PostgreSQL
plans a statement once per connection anyway, while psycopg builds each array in Python:
for the worker's two notifications of a booking, or its two audit entries, UNNEST cost
~1.0 ms of the worker's CPU against ~0.7 ms as VALUES, and VALUES stays cheaper up to
~32 rows (docs/benchmarks.md, "Session 12"). Larger inserts keep UNNEST.
"""

from typing import Any

from django.db.backends.postgresql import compiler as postgresql
from django.db.models.sql import compiler as base

# Django's, unchanged: DatabaseOperations.compiler() looks every compiler up in this module.
SQLCompiler = postgresql.SQLCompiler
SQLDeleteCompiler = postgresql.SQLDeleteCompiler
SQLUpdateCompiler = postgresql.SQLUpdateCompiler
SQLAggregateCompiler = postgresql.SQLAggregateCompiler

# The fewest rows a bulk insert writes with UNNEST.
UNNEST_MIN_ROWS = 33


class SQLInsertCompiler(postgresql.SQLInsertCompiler):
    def assemble_as_sql(self, fields: Any, value_rows: Any) -> tuple[Any, Any]:
        if len(value_rows) < UNNEST_MIN_ROWS:
            return base.SQLInsertCompiler.assemble_as_sql(self, fields, value_rows)
        return super().assemble_as_sql(fields, value_rows)

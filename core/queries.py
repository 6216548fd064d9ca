"""Small query helpers for hot paths."""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def unique_or_none(queryset: QuerySet[M]) -> M | None:
    """The row a lookup on a unique key finds, or None: `.first()` without its ORDER BY.

    `.first()` orders by the primary key to choose among several rows; on a unique key
    there is nothing to choose, and compiling that ORDER BY is about a third of a small
    query's CPU in Django (docs/benchmarks.md, "Booking throughput"). The booking request
    makes several such lookups.
    """
    return next(iter(queryset[:1]), None)

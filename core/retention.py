"""Retention, one shape for every app: how long what the clinic keeps is kept.

- Every period is a setting named with its unit (`TOKEN_RETENTION_DAYS`,
  `EVENT_RETENTION_HOURS`, `RECORDS_RETENTION_YEARS`; docs/configuration.md).
- A row kept until a date it was given carries `retain_until` (`Retained`), filled from
  its creation with `years_after`.
- Each app's beat job purges what is past its retention: `accounts.tasks.purge_dead_tokens`,
  `realtime.tasks.prune_events`, `records.tasks.purge_expired_records`.
"""

from datetime import date
from typing import Any

from django.db import models


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year + years, day=28)


class RetainedQuerySet(models.QuerySet[Any]):
    def past_retention(self, today: date) -> "RetainedQuerySet":
        """Rows whose `retain_until` is over: kept through that day, purgeable the day after."""
        return self.filter(retain_until__lt=today)


class Retained(models.Model):
    retain_until = models.DateField()

    class Meta:
        abstract = True

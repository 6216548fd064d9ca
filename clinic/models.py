"""Clinic settings: typed key-value policies stored in the database, editable by admins.

The known keys, their types, defaults and help texts are declared in code
(`clinic.registry`); a row exists only where an admin changed the default.
"""

from django.db import models
from django.utils import timezone


class ClinicSetting(models.Model):
    key = models.CharField(max_length=64, unique=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The table kept its name when the settings left core (core 0002 / clinic 0001).
        db_table = "core_clinicsetting"
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}"

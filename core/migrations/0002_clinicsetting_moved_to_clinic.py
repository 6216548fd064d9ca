"""Clinic settings moved to the clinic app (clinic 0001): drop the model from core's state only.

The table stays; it belongs to `clinic.ClinicSetting` now. Core holds no models any more.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("clinic", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="ClinicSetting")],
        ),
    ]

"""PostgreSQL refuses overlapping active appointments, per doctor and per patient.

Exclusion constraints over `tstzrange(start, "end")` (btree_gist lets the integer
doctor/patient ids take part in the GiST index). Written as SQL so the SQLite embedded
default, which serialises writers anyway, can skip them.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

ACTIVE = "status IN ('booked', 'checked_in', 'in_progress')"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in ("doctor_id", "patient_id"):
        schema_editor.execute(
            f"ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_overlap_{column.split('_')[0]} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(start, \"end\", '[)') WITH &&) WHERE ({ACTIVE});"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for who in ("doctor", "patient"):
        schema_editor.execute(
            f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap_{who};"
        )


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [BtreeGistExtension(), migrations.RunPython(install, remove)]

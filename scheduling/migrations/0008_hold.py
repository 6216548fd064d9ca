"""Holds (contract §11), and the database rules that keep them honest on PostgreSQL.

Beside the model's own constraints (one active hold per slot, one per patient):

- `hold_pins_free_slot`: an active hold's (slot_id, slot_status = 'free') references the
  slot's (id, status). While the hold is active PostgreSQL refuses to change that slot's
  status (book it, block it) or delete it: a hold and a booking never cover one slot.
- `hold_no_overlap_doctor`: active holds of one doctor never overlap in time, whatever
  slots they sit on (as migration 0002 does for appointments).

Written as SQL so the SQLite embedded default, which serialises writers anyway, can skip them.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE scheduling_hold ADD CONSTRAINT hold_pins_free_slot "
        "FOREIGN KEY (slot_id, slot_status) REFERENCES scheduling_slot (id, status);"
    )
    schema_editor.execute(
        "ALTER TABLE scheduling_hold ADD CONSTRAINT hold_no_overlap_doctor "
        "EXCLUDE USING gist (doctor_id WITH =, tstzrange(start, \"end\", '[)') WITH &&) WHERE (status = 'active');"
    )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in ("hold_pins_free_slot", "hold_no_overlap_doctor"):
        schema_editor.execute(f"ALTER TABLE scheduling_hold DROP CONSTRAINT IF EXISTS {name};")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("scheduling", "0007_appointment_series"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Hold",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("start", models.DateTimeField()),
                ("end", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("booked", "Booked"),
                            ("released", "Released"),
                            ("expired", "Expired"),
                            ("withdrawn", "Withdrawn"),
                        ],
                        default="active",
                        max_length=10,
                    ),
                ),
                ("slot_status", models.CharField(blank=True, editable=False, max_length=8, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddConstraint(
            model_name="slot",
            constraint=models.UniqueConstraint(fields=("id", "status"), name="slot_id_status_key"),
        ),
        migrations.AddField(
            model_name="hold",
            name="appointment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="holds",
                to="scheduling.appointment",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="holds_made",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="doctor",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="holds", to="accounts.doctor"
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="holds", to="accounts.patient"
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="slot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="holds",
                to="scheduling.slot",
            ),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["status", "expires_at"], name="hold_status_expiry"),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(("end__gt", models.F("start"))), name="hold_end_after_start"
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("slot__isnull", False), ("slot_status", "free"), ("status", "active")),
                    models.Q(models.Q(("status", "active"), _negated=True), ("slot_status__isnull", True)),
                    _connector="OR",
                ),
                name="hold_active_pins_its_slot",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")), fields=("slot",), name="hold_one_active_per_slot"
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")), fields=("patient",), name="hold_one_active_per_patient"
            ),
        ),
        migrations.RunPython(install, remove),
    ]

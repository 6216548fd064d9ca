"""Clinic settings left core for the clinic app: the model moves in Django's state only.

The table `core_clinicsetting` stays as it is (its name is pinned in `Meta.db_table`), so
an existing database keeps every setting; core 0002 drops the model from core's state
after this one adds it here.
"""

import django.utils.timezone
from django.db import migrations, models


def _move_content_type(apps, schema_editor):
    # Admin log entries and permissions point at the content type: carry it over.
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="core", model="clinicsetting").update(app_label="clinic")


def _move_content_type_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="clinic", model="clinicsetting").update(app_label="core")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ClinicSetting",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=64, unique=True)),
                        ("value", models.JSONField()),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={"db_table": "core_clinicsetting", "ordering": ["key"]},
                ),
            ],
        ),
        migrations.RunPython(_move_content_type, _move_content_type_back),
    ]

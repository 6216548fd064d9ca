"""Reviews left the scheduling app: the model moves in Django's state only.

The table `scheduling_review` stays as it is (its name is pinned in `Meta.db_table`), so
an existing database keeps every review; scheduling 0004 drops the model from
scheduling's state after this one adds it here.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _move_content_type(apps, schema_editor):
    # Admin log entries and permissions point at the content type: carry it over.
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="scheduling", model="review").update(app_label="reviews")


def _move_content_type_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="reviews", model="review").update(app_label="scheduling")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("scheduling", "0003_review"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Review",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("rating", models.PositiveSmallIntegerField()),
                        ("comment", models.TextField(blank=True, max_length=2000)),
                        ("is_hidden", models.BooleanField(default=False)),
                        ("hidden_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "appointment",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="review",
                                to="scheduling.appointment",
                            ),
                        ),
                        (
                            "doctor",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="reviews",
                                to="accounts.doctor",
                            ),
                        ),
                        (
                            "hidden_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="reviews_hidden",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="reviews",
                                to="accounts.patient",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "scheduling_review",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["doctor", "is_hidden", "created_at"], name="scheduling__doctor__954a7b_idx"
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("rating__gte", 1), ("rating__lte", 5)), name="review_rating_range"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(_move_content_type, _move_content_type_back),
    ]

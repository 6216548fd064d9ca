from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0004_review_moved_to_reviews"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="visit_type",
            field=models.CharField(
                choices=[("in_person", "In person"), ("video", "Video")],
                db_default="in_person",
                default="in_person",
                max_length=10,
            ),
        ),
    ]

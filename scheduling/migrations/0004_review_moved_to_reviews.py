"""Reviews moved to their own app (reviews 0001): drop the model from scheduling's state only.

The table stays; it belongs to `reviews.Review` now.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0003_review"),
        ("reviews", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="Review")],
        ),
    ]

from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone


def expire_in_ninety_days(apps, schema_editor):
    # Tokens issued before expiry existed keep working for the default lifetime from now,
    # so no screen goes dark on deployment; they are rotated like any other after that.
    DisplayToken = apps.get_model("realtime", "DisplayToken")
    DisplayToken.objects.update(expires_at=timezone.now() + timedelta(days=90))


class Migration(migrations.Migration):
    dependencies = [("realtime", "0002_display_tokens_and_prev_id")]

    operations = [
        migrations.AddField(
            model_name="displaytoken",
            name="expires_at",
            field=models.DateTimeField(default=timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(expire_in_ninety_days, migrations.RunPython.noop),
    ]

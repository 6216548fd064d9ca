from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import (
            policies,  # noqa: F401  (registers the clinic settings)
            receivers,
        )

        receivers.connect()

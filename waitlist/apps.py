from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = "Waitlist"

    def ready(self) -> None:
        from waitlist import (
            policies,  # noqa: F401  (registers the clinic settings)
            receivers,
        )

        receivers.connect()

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"

    def ready(self) -> None:
        # /metrics and /api/health/ready read the outbox through observability.probes.
        from realtime import probes

        probes.register()

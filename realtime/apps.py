from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"

    def ready(self) -> None:
        from realtime import probes
        from realtime.contracts import register_exporters

        register_exporters()
        probes.register()

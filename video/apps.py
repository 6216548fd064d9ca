from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "video"
    verbose_name = "Video visits"

    def ready(self) -> None:
        from video import policies  # noqa: F401  (registers the clinic settings)

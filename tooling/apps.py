from django.apps import AppConfig


class ToolingConfig(AppConfig):
    """Developer tooling (the contract exporter): it may import every app, and no app imports it."""

    name = "tooling"
    verbose_name = "Tooling"

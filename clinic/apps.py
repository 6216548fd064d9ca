from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"
    default = True

    def ready(self) -> None:
        from clinic import clock  # noqa: F401  (registers the clinic's time zone setting)


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the clinic's own site (`clinic.backoffice.BackOfficeSite`)."""

    default = False
    default_site = "clinic.backoffice.BackOfficeSite"

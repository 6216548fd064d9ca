from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """django.contrib.admin with the clinic's site, whose sign-in is throttled and audited."""

    default_site = "accounts.admin_site.ClinicAdminSite"

from django.apps import AppConfig


class PortalsConfig(AppConfig):
    """The reference clients: landing page, patient portal, doctor dashboard, AsyncAPI page.

    They use only the public REST API and /ws/, as any portal written elsewhere would.
    """

    name = "portals"
    default_auto_field = "django.db.models.BigAutoField"

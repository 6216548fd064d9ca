"""The back office's site: the clinic's name on every page and its wall clock for every time.

Installed as Django's default admin site (`clinic.apps.BackOfficeAdminConfig`), so every
ModelAdmin of every app runs in the clinic's time zone without knowing about it. Its
sign-in is accounts' (`accounts.admin_site.ClinicAdminSite`: throttled and audited).
"""

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.admin_site import ClinicAdminSite
from clinic.clock import clinic_timezone


class BackOfficeSite(ClinicAdminSite):
    site_header = "Clinic back office"
    site_title = "Clinic back office"
    index_title = "Administration"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # Bulk deletion bypasses the services; where deleting is allowed it is one object at a time.
        self.disable_action("delete_selected")

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        guarded = super().admin_view(view, cacheable)

        @functools.wraps(guarded)
        def in_clinic_time(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Reception reads and types times as the clinic's wall clock, not the server's
            # UTC: forms parse and pages render (rendered here, inside) in that zone.
            with timezone.override(clinic_timezone()):
                response = guarded(request, *args, **kwargs)
                render = getattr(response, "render", None)
                if render is not None and not getattr(response, "is_rendered", True):
                    render()
                return response

        return in_clinic_time

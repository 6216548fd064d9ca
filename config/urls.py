from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from core.errors import api_not_found
from core.views import DocsView, HealthView
from observability.views import LiveView, ReadyView, metrics_view
from portals import urls as portal_urls
from portals.views import page_not_found
from scheduling.display import display_page
from video.views import video_page

api_patterns: list[URLPattern | URLResolver] = [
    path("health/", HealthView.as_view(), name="health"),
    # With or without the trailing slash: probes are configured by hand, often without one.
    re_path(r"^health/live/?$", LiveView.as_view(), name="health-live"),
    re_path(r"^health/ready/?$", ReadyView.as_view(), name="health-ready"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
    path("", include(portal_urls.api_urlpatterns)),
    path("", include("clinic.urls")),
    path("", include("accounts.urls")),
    path("", include("audit.urls")),
    path("", include("scheduling.urls")),
    path("", include("reviews.urls")),
    path("", include("records.urls")),
    path("", include("notifications.urls")),
    path("", include("billing.urls")),
    path("", include("video.urls")),
    path("", include("realtime.urls")),
    path("", include("waitlist.urls")),
    # Anything else under /api/ is a JSON 404, also with DEBUG on.
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    # Prometheus; off unless METRICS_TOKEN is set (observability.views.metrics_view).
    path("metrics", metrics_view, name="metrics"),
    # FHIR R4 (contract §13): the same tokens, rules and audit as /api/, in FHIR's shapes.
    path("fhir/R4/", include("fhir_facade.urls")),
    # The reception screen (contract §9, added): plain HTML, outside the JSON API.
    path("display/", display_page, name="display"),
    # The video join page (contract §14): the link reminders carry.
    path("video/<int:appointment_id>/", video_page, name="video-page"),
    # The landing page, the patient portal and the doctor dashboard (portals/).
    path("", include(portal_urls)),
    # Any other page (last): a plain 404 page, never Django's debug page listing the URLs.
    re_path(r"^.*$", page_not_found),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"

from django.urls import path

from waitlist import api

urlpatterns = [
    path("waitlist/", api.WaitlistApi.as_view(), name="waitlist"),
    path("waitlist/<int:entry_id>/", api.WaitlistEntryApi.as_view(), name="waitlist-entry"),
    path("waitlist/<int:entry_id>/accept/", api.WaitlistAcceptApi.as_view(), name="waitlist-accept"),
    path("waitlist/<int:entry_id>/decline/", api.WaitlistDeclineApi.as_view(), name="waitlist-decline"),
]

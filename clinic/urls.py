from django.urls import path

from clinic import api

urlpatterns = [
    path("settings/", api.ClinicSettingListApi.as_view(), name="setting-list"),
    path("settings/<str:key>/", api.ClinicSettingUpdateApi.as_view(), name="setting-update"),
]

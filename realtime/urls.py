from django.urls import path

from realtime import api

urlpatterns = [
    path("display-tokens/", api.DisplayTokenListCreateApi.as_view(), name="display-token-list"),
    path("display-tokens/<int:token_id>/", api.DisplayTokenRevokeApi.as_view(), name="display-token-revoke"),
    path("display-tokens/<int:token_id>/rotate/", api.DisplayTokenRotateApi.as_view(), name="display-token-rotate"),
]

from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications/send/", api.NotificationSendApi.as_view(), name="notification-send"),
    path("notifications/list/", api.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/preferences/", api.NotificationPreferenceApi.as_view(), name="notification-preferences"),
    path("notifications/<int:notification_id>/", api.NotificationDetailApi.as_view(), name="notification-detail"),
    path("notifications/<int:notification_id>/read/", api.NotificationReadApi.as_view(), name="notification-read"),
    path("messages/send/", api.MessageSendApi.as_view(), name="message-send"),
    path("messages/list/", api.MessageListApi.as_view(), name="message-list"),
    path("messages/<int:message_id>/read/", api.MessageReadApi.as_view(), name="message-read"),
    path("webhooks/twilio/status/", api.TwilioStatusWebhookApi.as_view(), name="webhook-twilio-status"),
    path("webhooks/sendgrid/events/", api.SendGridEventWebhookApi.as_view(), name="webhook-sendgrid-events"),
]

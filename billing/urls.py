from django.urls import path

from billing import api

urlpatterns = [
    path("payments/charge/", api.PaymentChargeApi.as_view(), name="payment-charge"),
    path("payments/history/", api.PaymentHistoryApi.as_view(), name="payment-history"),
    path("payments/<int:payment_id>/", api.PaymentDetailApi.as_view(), name="payment-detail"),
    path("payments/<int:payment_id>/refund/", api.PaymentRefundApi.as_view(), name="payment-refund"),
    path("payments/<int:payment_id>/cancel/", api.PaymentCancelApi.as_view(), name="payment-cancel"),
    path("invoices/generate/", api.InvoiceGenerateApi.as_view(), name="invoice-generate"),
    path("invoices/list/", api.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<int:invoice_id>/", api.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("doctors/<int:doctor_id>/fee/", api.DoctorFeeApi.as_view(), name="doctor-fee"),
    path("webhooks/stripe/", api.StripeWebhookApi.as_view(), name="stripe-webhook"),
]

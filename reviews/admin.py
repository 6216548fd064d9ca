"""Reviews in the back office: staff read them, admins hide and show them again."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import DoctorFilter
from accounts.authentication import request_user
from audit.backoffice import AuditedModelAdmin, has_role
from core.roles import ADMIN_ROLES, STAFF_ROLES
from reviews import services
from reviews.models import Review


@admin.register(Review)
class ReviewAdmin(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    list_display = ["created_at", "doctor", "rating", "short_comment", "is_hidden", "hidden_by"]
    list_filter = ["is_hidden", "rating", ("doctor", DoctorFilter)]
    search_fields = ["comment", "doctor__user__last_name"]
    list_select_related = ["doctor__user", "hidden_by"]
    exclude = ["patient"]
    actions = ["hide", "unhide"]

    @admin.display(description="Comment")
    def short_comment(self, review: Review) -> str:
        return review.comment if len(review.comment) <= 80 else f"{review.comment[:79]}…"

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return has_role(request, ADMIN_ROLES)

    @admin.action(description="Hide the selected reviews", permissions=["moderate"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            services.review_hide(actor=request_user(request), review=review)
        messages.success(request, f"{len(queryset)} review(s) hidden.")

    @admin.action(description="Show the selected reviews again", permissions=["moderate"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            services.review_unhide(actor=request_user(request), review=review)
        messages.success(request, f"{len(queryset)} review(s) shown again.")

"""Role checks for DRF views. Object-level "is it yours" lives in the selectors (404)."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class HasRole(BasePermission):
    """Admit signed-in users whose role is in `roles`."""

    roles: frozenset[str] = frozenset()

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in self.roles)


class IsAdmin(HasRole):
    roles = frozenset({"admin"})


class IsStaffOrAdmin(HasRole):
    roles = frozenset({"staff", "admin"})


class IsDoctor(HasRole):
    roles = frozenset({"doctor"})


class IsPatient(HasRole):
    roles = frozenset({"patient"})

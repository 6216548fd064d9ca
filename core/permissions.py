"""Role checks for DRF views, all of them here. Object-level "is it yours" lives in the selectors (404)."""

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.exceptions import Forbidden
from core.roles import ADMIN_ROLES, STAFF_ROLES, Role


class HasRole(BasePermission):
    """Admit signed-in users whose role is in `roles`."""

    roles: frozenset[str] = frozenset()

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "role", None) in self.roles)


class IsAdmin(HasRole):
    roles = ADMIN_ROLES


class IsStaffOrAdmin(HasRole):
    roles = STAFF_ROLES


class IsDoctor(HasRole):
    roles = frozenset({Role.DOCTOR})


class IsPatient(HasRole):
    roles = frozenset({Role.PATIENT})


class IsPatientOrDoctor(HasRole):
    roles = frozenset({Role.PATIENT, Role.DOCTOR})


class IsPatientStaffOrAdmin(HasRole):
    roles = STAFF_ROLES | {Role.PATIENT}


class IsDoctorStaffOrAdmin(HasRole):
    roles = STAFF_ROLES | {Role.DOCTOR}


class LocalSignInEnabled(BasePermission):
    """Admit password sign-ups only while local sign-in is on.

    A password account made while it is off could never be signed into by its owner, yet
    it would hold the address (pre-account takeover: someone else registers your email
    first and waits for you to link it).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not settings.LOCAL_SIGN_IN_ENABLED:
            raise Forbidden(
                "Email and password sign-up is switched off; sign in with Firebase.", code="local_sign_in_disabled"
            )
        return True

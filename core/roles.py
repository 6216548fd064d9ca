"""The four roles, the one place their names are spelled.

Every role check (DRF permissions, the back office, services) uses these; a role is
never a bare string elsewhere. `accounts.models.User.role` stores the values.
"""

from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    DOCTOR = "doctor", "Doctor"
    STAFF = "staff", "Staff (reception)"
    ADMIN = "admin", "Admin"


# The clinic's own people: they may act for a patient (audited) and run the desk.
STAFF_ROLES: frozenset[str] = frozenset({Role.STAFF, Role.ADMIN})
ADMIN_ROLES: frozenset[str] = frozenset({Role.ADMIN})
NO_ROLES: frozenset[str] = frozenset()

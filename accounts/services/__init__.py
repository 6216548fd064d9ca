"""Every write to accounts: registration, profiles, tokens, sign-in, approval, deletion."""

from accounts.services.signin import (
    Session,
    SignInFailed,
    admin_sign_in_recorded,
    admin_sign_in_refused,
    login_firebase,
    login_local,
    patient_register_from_firebase,
    token_issue,
    token_purge_dead,
    token_revoke,
)
from accounts.services.users import (
    DOCTOR_FIELDS,
    PATIENT_FIELDS,
    USER_FIELDS,
    doctor_approve,
    doctor_register,
    patient_register,
    user_create,
    user_deactivate,
    user_role_change,
    user_update,
)

__all__ = [
    "DOCTOR_FIELDS",
    "PATIENT_FIELDS",
    "USER_FIELDS",
    "Session",
    "SignInFailed",
    "admin_sign_in_recorded",
    "admin_sign_in_refused",
    "doctor_approve",
    "doctor_register",
    "login_firebase",
    "login_local",
    "patient_register",
    "patient_register_from_firebase",
    "token_issue",
    "token_purge_dead",
    "token_revoke",
    "user_create",
    "user_deactivate",
    "user_role_change",
    "user_update",
]

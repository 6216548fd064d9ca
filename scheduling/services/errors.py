"""Scheduling's domain errors, each with its contract error code."""

from core.exceptions import Conflict, DomainError


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    default_detail = "That slot has just been taken; choose another."


class InvalidSlot(DomainError):
    status_code = 400
    code = "invalid_slot"
    default_detail = "That time is not a free future slot of this doctor within the booking horizon."


class InvalidTransition(DomainError):
    status_code = 400
    code = "invalid_transition"
    default_detail = "The appointment cannot move to that status."


class NoticeTooShort(DomainError):
    status_code = 400
    code = "notice_too_short"
    default_detail = "It is too late to do that online; please call the clinic."


class AppointmentLimitReached(DomainError):
    status_code = 400
    code = "appointment_limit_reached"
    default_detail = "You already hold the most open appointments allowed."

"""Domain errors: services raise these, the API's one exception handler renders them."""

from typing import Any


class DomainError(Exception):
    """A business rule refused an action. Rendered as the contract's error body."""

    status_code = 400
    code = "invalid"
    default_detail = "The request was refused."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.fields = fields
        # Further keys of the error body that the contract names for this error (for
        # example `opens_at` beside `video_not_open`, `conflicts` beside a series' 409).
        self.extra = extra or {}
        # Why, for the metrics and never in the answer: one code may have several causes
        # (a slot taken, the patient busy elsewhere). None: the code says it all.
        self.reason = reason
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    status_code = 400
    code = "invalid"
    default_detail = "Invalid input."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found."


class Forbidden(DomainError):
    status_code = 403
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."

"""The error tree: every refusal the app makes is one of these.

    AppError (status, code, message)
    ├── BadRequest       400  malformed_json, missing_idempotency_key, ...
    ├── NotSignedIn      401  not_signed_in
    ├── PaymentRequired  402  insufficient_credits
    ├── Forbidden        403  bad_origin, not_your_turn, not_allowed, ...
    ├── NotFound         404  not_found
    ├── Conflict         409  email_taken, stale_nonce, step_in_flight, ...
    ├── TooLarge         413  too_large
    ├── InvalidField     422  invalid_field (names the field)
    └── RateLimited      429  rate_limited (carries retry_after seconds)

It lives in `storage/` because storage is the lowest layer that raises it (a unique violation
becomes a `Conflict`); `server/` maps it to the JSON envelope and websocket error frames in one
place. Misuse by our own code is a plain RuntimeError, never one of these.
"""

from __future__ import annotations

__all__ = [
    "AppError",
    "BadRequest",
    "NotSignedIn",
    "PaymentRequired",
    "Forbidden",
    "NotFound",
    "Conflict",
    "TooLarge",
    "InvalidField",
    "RateLimited",
]


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(AppError):
    status, code = 400, "bad_request"


class NotSignedIn(AppError):
    status, code = 401, "not_signed_in"


class PaymentRequired(AppError):
    status, code = 402, "insufficient_credits"


class Forbidden(AppError):
    status, code = 403, "not_allowed"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class TooLarge(AppError):
    status, code = 413, "too_large"


class InvalidField(AppError):
    status, code = 422, "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RateLimited(AppError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

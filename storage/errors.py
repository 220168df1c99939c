"""The error tree: every refusal the app makes is one of these.

    AppError (code, message)
    ├── BadRequest       malformed_json, missing_idempotency_key, ...
    ├── NotSignedIn      not_signed_in, invalid_credentials
    ├── PaymentRequired  insufficient_credits
    ├── Forbidden        bad_origin, not_your_turn, not_allowed, ...
    ├── NotFound         not_found
    ├── Conflict         email_taken, stale_nonce, step_in_flight, ...
    ├── TooLarge         too_large
    ├── InvalidField     invalid_field (names the field)
    ├── RateLimited      rate_limited (carries retry_after seconds)
    └── Unavailable      unavailable (the database is out of reach: `database.py` maps asyncpg's
                         connection errors), busy, payments_unavailable: carries retry_after

The class says what kind of refusal it is and the code says which one; neither knows HTTP.
It lives in `storage/` because storage is the lowest layer that raises it (a unique violation
becomes a `Conflict`); `server/http/errors.py` maps each class to a status in one table and
builds the JSON envelope and the websocket error frame. Misuse by our own code is a plain
RuntimeError, never one of these.
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
    "Unavailable",
]


class AppError(Exception):
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(AppError):
    code = "bad_request"


class NotSignedIn(AppError):
    code = "not_signed_in"


class PaymentRequired(AppError):
    code = "insufficient_credits"


class Forbidden(AppError):
    code = "not_allowed"


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    code = "conflict"


class TooLarge(AppError):
    code = "too_large"


class InvalidField(AppError):
    code = "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RateLimited(AppError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(AppError):
    code = "unavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after

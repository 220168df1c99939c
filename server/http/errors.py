"""The one place where refusals become answers: a status per kind of refusal, the JSON envelope
of HTTP responses and the error frame of websockets."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.http.pages import not_found_page
from server.play.publisher import frame
from storage import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    NotSignedIn,
    PaymentRequired,
    RateLimited,
    TooLarge,
    Unavailable,
)

__all__ = [
    "STATUS",
    "status_of",
    "error_body",
    "error_response",
    "error_frame",
    "refusal_frame",
    "internal_error_response",
    "EXCEPTION_HANDLERS",
]

log = logging.getLogger(__name__)

# Each kind of refusal answers with one status, whatever its code.
STATUS: dict[type[AppError], int] = {
    BadRequest: 400,
    NotSignedIn: 401,
    PaymentRequired: 402,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    InvalidField: 422,
    RateLimited: 429,
    Unavailable: 503,
}

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
_HTTP_MESSAGES = {404: "No such page.", 405: "Method not allowed here."}


def status_of(exc: AppError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    raise RuntimeError(f"{type(exc).__name__} has no status")


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _details(exc: AppError) -> dict[str, Any]:
    return {"field": exc.field} if isinstance(exc, InvalidField) else {}


def error_response(exc: AppError) -> JSONResponse:
    retry_after = exc.retry_after if isinstance(exc, RateLimited | Unavailable) else None
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return JSONResponse(error_body(exc.code, exc.message, **_details(exc)), status_of(exc), headers=headers)


def error_frame(code: str, message: str, **extra: Any) -> str:
    """A websocket's `{"type": "error", "code", "message"}` frame."""
    return frame({"type": "error", "code": code, "message": message, **extra})


def refusal_frame(exc: AppError) -> str:
    return error_frame(exc.code, exc.message, **_details(exc))


def internal_error_response(request_id: str) -> JSONResponse:
    # The trace goes to the log under this id; the body says only that something broke.
    return JSONResponse(error_body("internal", "Something went wrong on our side.", request_id=request_id), 500)


async def _app_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, AppError):
        raise RuntimeError("the AppError handler was given another exception") from exc
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise RuntimeError("the HTTPException handler was given another exception") from exc
    if exc.status_code == 404 and (page := not_found_page(request)) is not None:
        return page  # a browser's address bar: a page with the way back, not raw JSON
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS = {AppError: _app_error, HTTPException: _http_error}

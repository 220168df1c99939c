"""The one place where failures become responses: the error envelope of DESIGN.md section 5."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from storage import AppError, RateLimited

__all__ = ["error_body", "error_response", "EXCEPTION_HANDLERS", "internal_error_response"]

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(exc: AppError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    extra = {"field": exc.field} if hasattr(exc, "field") else {}
    return JSONResponse(error_body(exc.code, exc.message, **extra), exc.status, headers=headers)


def internal_error_response(request_id: str) -> JSONResponse:
    # The trace goes to the log under this id; the body says only that something broke.
    return JSONResponse(
        error_body("internal", "Something went wrong on our side.", request_id=request_id), 500
    )


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = {404: "No such page.", 405: "Method not allowed here."}.get(
        exc.status_code, str(exc.detail)
    )
    return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS = {AppError: _app_error, HTTPException: _http_error}

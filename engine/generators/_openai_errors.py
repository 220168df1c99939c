"""The OpenAI SDK's exceptions as our GeneratorFailures, in one function, and whether to retry.

    API answer                                  failure                 retried
    400 moderation_blocked (or a stream error   GeneratorRefused        no
        event with that code)
    400 anything else                           GeneratorError          no (our request is wrong)
    401, 403                                    GeneratorUnavailable    no (the key)
    404 (model_not_found)                       GeneratorUnavailable    no (OPENAI_MODEL)
    429 insufficient_quota                      GeneratorUnavailable    no (billing)
    429 otherwise                               GeneratorBusy           yes, after Retry-After
    5xx, connection refused or reset            GeneratorError          yes, after Retry-After or backoff
    the client's read timeout                   GeneratorTimeout        no (the deadline is spent)

Matched on class and on the error code the API sends, never on its message text.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

from engine.errors import (
    GeneratorBusy,
    GeneratorError,
    GeneratorFailure,
    GeneratorRefused,
    GeneratorTimeout,
    GeneratorUnavailable,
)

__all__ = ["Mapped", "map_openai_error", "retry_after_seconds", "REFUSAL_CODES"]

REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
_MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Mapped:
    failure: GeneratorFailure
    retryable: bool
    retry_after: float | None  # what the server asked us to wait, when it said


def retry_after_seconds(headers: Any) -> float | None:
    """`retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None when absent or absurd."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if divisor == 1.0 else None
            seconds = parsed.timestamp() - time.time() if parsed is not None else -1.0
        if 0 <= seconds <= _MAX_RETRY_AFTER:
            return seconds
    return None


def map_openai_error(exc: BaseException, model: str) -> Mapped | None:
    """The failure for an SDK exception, or None when `exc` is not one of the SDK's."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return Mapped(GeneratorTimeout("the images API did not answer before the deadline"), False, None)
    if isinstance(exc, openai.APIConnectionError):
        return Mapped(GeneratorError("could not reach the images API"), True, None)
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc, model)
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        if exc.code in REFUSAL_CODES:
            return Mapped(GeneratorRefused(f"the images API refused the prompt ({exc.code})"), False, None)
        if exc.code == "rate_limit_exceeded":
            return Mapped(GeneratorBusy("the images API is rate-limiting us"), True, None)
        return Mapped(GeneratorError(f"the images API's stream failed ({exc.code or 'no code'})"), True, None)
    if isinstance(exc, openai.OpenAIError):
        return Mapped(GeneratorError(f"the images API failed: {type(exc).__name__}"), False, None)
    return None


def _status_failure(exc: Any, model: str) -> Mapped:
    import openai

    status, code = exc.status_code, exc.code
    wait = retry_after_seconds(exc.response.headers)
    if isinstance(exc, openai.BadRequestError) and code in REFUSAL_CODES:
        return Mapped(GeneratorRefused(f"the images API refused the prompt ({code})"), False, None)
    if status in (401, 403):
        failure = GeneratorUnavailable(f"the images API refused our key ({status}): set OPENAI_API_KEY")
        return Mapped(failure, False, None)
    if status == 404:
        hint = f"the images API does not know the model {model!r} ({code or 404}): set OPENAI_MODEL to a current one"
        return Mapped(GeneratorUnavailable(hint), False, None)
    if status == 429 and code == "insufficient_quota":
        failure = GeneratorUnavailable("the OpenAI account's quota is exhausted: add credit or raise its limit")
        return Mapped(failure, False, None)
    if status == 429:
        return Mapped(GeneratorBusy("the images API is rate-limiting us (429)"), True, wait)
    if status >= 500:
        return Mapped(GeneratorError(f"the images API answered {status}"), True, wait)
    return Mapped(GeneratorError(f"the images API rejected the request ({code or status})"), False, None)

"""What `/openapi.json` says of a route, declared on the route itself:

    @documented("createRoom", "Create a room.", tag="rooms", auth="signed_in", body=CreateRoom,
                answers={201: Answer("The new room's snapshot.", RoomReply)}, errors=(403,))
    async def create_room(request: Request) -> Response: ...

The body and query are the pydantic models the route validates with, and an answer's shape is
the TypedDict the route builds; server/http/openapi.py walks the routes and generates the
document from these. What every route shares (the error answers its auth and body imply, the
path parameters, the session scheme) is said once, there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

__all__ = ["Auth", "Answer", "Endpoint", "Operation", "documented", "operation_of", "png"]

# signed_in: 401 without a session; optional: a session may show more; public: no session asked.
Auth = Literal["signed_in", "optional", "public"]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


@dataclass(frozen=True)
class Answer:
    """One answer of a route: JSON of `shape` (a type pydantic can describe, such as a TypedDict),
    other bytes of `media_type`, or no body when both are None."""

    description: str
    shape: Any = None
    media_type: str | None = "application/json"
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def png(description: str, headers: Mapping[str, Mapping[str, Any]] | None = None) -> Answer:
    return Answer(description, media_type="image/png", headers=headers or {})


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    tag: str
    auth: Auth
    answers: Mapping[int, Answer]
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    # A model whose fields are the query's parameters, or parameters as OpenAPI objects.
    query: type[BaseModel] | tuple[Mapping[str, Any], ...] = ()
    headers: tuple[Mapping[str, Any], ...] = ()
    # The path as the document names it, when the route's own pattern says less.
    path: str | None = None


_OPERATIONS: dict[Callable[..., Any], Operation] = {}


def documented(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    auth: Auth,
    answers: Mapping[int, Answer],
    errors: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | tuple[Mapping[str, Any], ...] = (),
    headers: tuple[Mapping[str, Any], ...] = (),
    path: str | None = None,
) -> Callable[[Endpoint], Endpoint]:
    """Records the operation of the endpoint it decorates; the endpoint itself is unchanged."""
    operation = Operation(operation_id, summary, tag, auth, answers, errors, body, query, headers, path)

    def record(endpoint: Endpoint) -> Endpoint:
        _OPERATIONS[endpoint] = operation
        return endpoint

    return record


def operation_of(endpoint: Callable[..., Any]) -> Operation | None:
    return _OPERATIONS.get(endpoint)

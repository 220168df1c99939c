"""The JSON shapes only HTTP answers with: the objects around the play shapes (server/play/shapes.py),
the error envelope, health, and the operators' figures. The routes build them and /openapi.json
is generated from them, as from the play shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from server.play.shapes import EventJson, RoomSnapshot, RoomSummary, StepJson
from storage.accounts import UserJson
from storage.admin import AdminRoomJson, AuditEntryJson, FlightStepJson
from storage.purchases import PurchaseJson

__all__ = [
    "AccountJson",
    "UserReply",
    "SessionReply",
    "RoomReply",
    "CreatedRoom",
    "RoomList",
    "InvitePreview",
    "LedgerEntryJson",
    "LedgerPage",
    "PackJson",
    "PackList",
    "CheckoutReply",
    "EventPage",
    "StepReply",
    "ErrorJson",
    "ErrorEnvelope",
    "Liveness",
    "CheckName",
    "CheckState",
    "Readiness",
    "AdminRooms",
    "AdminSteps",
    "AuditLog",
    "AuditReply",
    "CreditsReply",
    "Overview",
    "AdminPurchases",
]


class AccountJson(UserJson):
    daily_credits: Annotated[int, Field(description="The daily allowance: topped up to this once a day (0: none).")]


class UserReply(TypedDict):
    user: AccountJson


class SessionReply(TypedDict):
    user: Annotated[AccountJson | None, Field(description="Null when nobody is signed in.")]
    billing: Annotated[bool, Field(description="Whether credits are on sale here (/api/billing/...).")]


class RoomReply(TypedDict):
    room: RoomSnapshot


class CreatedRoom(RoomReply):
    warning: Annotated[str | None, Field(description="Set when max_steps is more than the members can pay for now.")]


class RoomList(TypedDict):
    """The rooms I am in (first page only), then a page of open rooms to watch."""

    rooms: list[RoomSummary]
    next_cursor: Annotated[str | None, Field(description="The next page of rooms to watch; null at the end.")]


class InvitePreview(TypedDict):
    """What an invite link opens, shown before signing up."""

    room_id: str
    name: str
    mode: Literal["open", "folded"]
    status: Literal["lobby", "playing", "finished"]
    host_name: str
    member_count: int


class LedgerEntryJson(TypedDict):
    kind: str
    amount: Annotated[int, Field(description="Credits in (positive) or out (negative).")]
    room_id: str | None
    step_id: str | None
    at: str


class LedgerPage(TypedDict):
    """My credit entries, newest first."""

    entries: list[LedgerEntryJson]
    next_cursor: Annotated[str | None, Field(description="The next (older) page; null at the end.")]


class EventPage(TypedDict):
    events: list[EventJson]
    seq: Annotated[int, Field(ge=0, description="The room's seq.")]


class StepReply(TypedDict):
    step: StepJson


class ErrorJson(TypedDict):
    code: Annotated[str, Field(pattern="^[a-z][a-z0-9_]*$", examples=["stale_nonce"])]
    message: Annotated[str, Field(description="Human text, never a stack trace.")]
    field: NotRequired[Annotated[str, Field(description="The refused field (422 only).")]]
    request_id: NotRequired[Annotated[str, Field(description="Names the logged trace (500 only).")]]


class ErrorEnvelope(TypedDict):
    """Every refusal and failure: the error envelope."""

    error: ErrorJson


class Liveness(TypedDict):
    status: Literal["ok"]


CheckName = Literal["database", "bus", "blobs", "generator"]
CheckState = Literal["ok", "down"]


class Readiness(TypedDict):
    status: Literal["ok", "unavailable"]
    checks: Annotated[dict[CheckName, CheckState], Field(description="Each part that must answer.")]


class AdminRooms(TypedDict):
    rooms: list[AdminRoomJson]


class AdminSteps(TypedDict):
    steps: list[FlightStepJson]


class AuditLog(TypedDict):
    """The newest audit entries first."""

    audit: list[AuditEntryJson]


class AuditReply(TypedDict):
    """An operator's repair, done: the audit row written with it."""

    audit: AuditEntryJson


class CreditsReply(AuditReply):
    credits: Annotated[int, Field(description="The user's balance after the change.")]


class Overview(TypedDict):
    """The dashboard's figures: the database's for the whole service, the hub's for this instance."""

    type: Literal["overview"]
    instance: str
    connections: int
    spectators: int
    rooms_by_status: dict[str, int]
    steps_in_flight: list[FlightStepJson]
    generator: Annotated[dict[str, Any], Field(description="Generator latency and failures, all instances.")]
    seam_scores: Annotated[list[dict[str, Any]], Field(description="Of the newest committed steps.")]
    audit: list[AuditEntryJson]
    purchases: Annotated[list[PurchaseJson], Field(description="The newest credit purchases.")]
    shortfalls: Annotated[list[PurchaseJson], Field(description="Purchases refunded past what the balance held.")]


class PackJson(TypedDict):
    id: Annotated[str, Field(description="The credits, as a string: what checkout's `pack` names.")]
    credits: int
    amount: Annotated[int, Field(description="The price, in the currency's smallest unit.")]
    currency: str


class PackList(TypedDict):
    packs: list[PackJson]


class CheckoutReply(TypedDict):
    url: Annotated[str, Field(description="Stripe's Checkout page for this purchase.")]


class AdminPurchases(TypedDict):
    purchases: list[PurchaseJson]

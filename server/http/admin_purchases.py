"""`/api/admin/purchases`: operators see what was bought, refunded and disputed, and what the
balances could not give back (shortfalls)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.admin import require_admin
from server.http.answers import AdminPurchases
from server.http.documented import Answer, documented
from server.http.validation import services_of, whole_number
from storage import InvalidField, purchases
from storage.purchases import PurchaseStatus

__all__ = ["routes"]

QUERY = (
    {"name": "user_id", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": [str(s) for s in PurchaseStatus]}},
)


@documented(
    "adminPurchases",
    "Credit purchases, newest first, optionally of one user and of one status.",
    tag="admin",
    auth="signed_in",
    query=QUERY,
    answers={200: Answer("The purchases.", AdminPurchases)},
    errors=(403, 422, 429),
)
async def list_purchases(request: Request) -> Response:
    services = services_of(request)
    await require_admin(services, request)
    raw_user, raw_status = request.query_params.get("user_id"), request.query_params.get("status")
    user_id = None if raw_user is None else whole_number(raw_user, "user_id")
    if raw_status is not None and raw_status not in set(PurchaseStatus):
        raise InvalidField("status", "must be pending, paid, refunded or disputed")
    status = None if raw_status is None else PurchaseStatus(raw_status)
    async with services.db.acquire() as conn:
        listed = await purchases.list_purchases(conn, user_id=user_id, status=status)
    return JSONResponse(AdminPurchases(purchases=[p.public() for p in listed]))


routes = [Route("/api/admin/purchases", list_purchases, methods=["GET"])]

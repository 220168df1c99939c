"""Every JSON route of the HTTP API, in the order the app serves them: one list, which the app
mounts and /openapi.json describes, so neither can miss a route the other has."""

from __future__ import annotations

from starlette.routing import BaseRoute

from server.http import (
    account,
    admin,
    admin_purchases,
    admin_users,
    auth,
    billing,
    exports,
    health,
    hosting,
    invites,
    membership,
    pictures,
    rooms,
    steps,
)

__all__ = ["API_ROUTES"]

API_ROUTES: list[BaseRoute] = [
    *auth.routes,
    *account.routes,
    *rooms.routes,
    *membership.routes,
    *hosting.routes,
    *invites.routes,
    *steps.routes,
    *exports.routes,  # before pictures: /blobs/{sha256}.webp, then /blobs/{name}
    *pictures.routes,
    *billing.routes,
    *admin.routes,
    *admin_users.routes,
    *admin_purchases.routes,
    *health.routes,
]

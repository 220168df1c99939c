"""Buying credits: Checkout Sessions made by the real `stripe` library against a local fake of
Stripe's API, and webhooks signed as Stripe signs them, verified by the library. Each paid session
is credited exactly once; refunds and disputes come back out of the balance, never below 0."""

import asyncio

import pytest

from tests.conftest import make_settings, running_app
from tests.fakes.stripe_api import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, event, signed
from tests.play import new_player, open_room, start, step_and_settle

PACKS = "50:500,120:1000"


@pytest.fixture
async def stripe_api():
    async with FakeStripe() as fake:
        yield fake


@pytest.fixture
def billing_settings(database_url, tmp_path, stripe_api):
    return make_settings(
        database_url,
        tmp_path / "data",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_api.url,
        credit_packs=PACKS,
    )


@pytest.fixture
async def shop(billing_settings):
    async with running_app(billing_settings) as client:
        yield client


async def _deliver(client, body, **signing) -> int:
    payload, signature = signed(body, **signing)
    response = await client.post(
        "/api/billing/webhook",
        content=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    return response.status_code


async def _bought(shop, pack="50"):
    """A player with a pending purchase: (player, user, Stripe's session)."""
    player, user = await new_player(shop)
    response = await player.post("/api/billing/checkout", json={"pack": pack})
    assert response.status_code == 200, response.text
    session_id = response.json()["url"].rsplit("/", 1)[1]
    return player, user, session_id


def _completed(session_id: str, *, paid: bool = True, event_id: str | None = None) -> dict:
    obj = {"id": session_id, "object": "checkout.session", "payment_status": "paid" if paid else "unpaid",
           "payment_intent": "pi_for_" + session_id}  # fmt: skip
    return event("checkout.session.completed", obj, event_id=event_id)


def _charge(kind: str, session_id: str, **fields) -> dict:
    return event(kind, {"id": "ch_for_" + session_id, "payment_intent": "pi_for_" + session_id, **fields})


async def _credits(db, user) -> int:
    return await db.fetchval("SELECT credits FROM users WHERE id = $1", user["id"])


async def _purchase_entries(db) -> list[tuple]:
    rows = await db.fetch("SELECT kind, delta FROM credit_ledger WHERE kind LIKE 'purchase%' ORDER BY id")
    return [tuple(row) for row in rows]


async def test_packs_are_listed_and_checkout_makes_one_session_per_double_click(shop, stripe_api, db):
    packs = (await shop.get("/api/billing/packs")).json()["packs"]
    assert packs == [
        {"id": "50", "credits": 50, "amount": 500, "currency": "usd"},
        {"id": "120", "credits": 120, "amount": 1000, "currency": "usd"},
    ]
    player, user = await new_player(shop)
    first, second = [await player.post("/api/billing/checkout", json={"pack": "120"}) for _ in range(2)]
    assert first.json() == second.json() and first.json()["url"].startswith(stripe_api.url)
    sent = stripe_api.requests[0]
    assert sent["mode"] == "payment" and sent["client_reference_id"] == str(user["id"])
    assert sent["metadata[credits]"] == "120" and sent["line_items[0][price_data][unit_amount]"] == "1000"
    assert sent["success_url"].startswith("http://testserver/?checkout=success")
    rows = await db.fetch("SELECT user_id, credits, amount, status FROM purchases")
    assert [tuple(row) for row in rows] == [(user["id"], 120, 1000, "pending")]


async def test_checkout_refusals(shop, db):
    player, _ = await new_player(shop)
    for pack in ("51", "abc", 50):
        response = await player.post("/api/billing/checkout", json={"pack": pack})
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_field"
    await player.post("/api/auth/logout")
    assert (await player.post("/api/billing/checkout", json={"pack": "50"})).status_code == 401
    assert await db.fetchval("SELECT count(*) FROM purchases") == 0


async def test_billing_off_is_404(client):
    for method, path in (
        ("GET", "/api/billing/packs"),
        ("POST", "/api/billing/checkout"),
        ("POST", "/api/billing/webhook"),
    ):
        response = await client.request(method, path, json={})
        assert response.status_code == 404, path


async def test_a_paid_session_is_credited_once_however_often_it_is_delivered(shop, db):
    _, user, session_id = await _bought(shop)
    delivery = _completed(session_id)
    assert [await _deliver(shop, delivery) for _ in range(3)] == [200, 200, 200]
    assert await _credits(db, user) == user["credits"] + 50
    assert await _purchase_entries(db) == [("purchase", 50)]
    assert await db.fetchval("SELECT status FROM purchases") == "paid"
    audit = await db.fetchrow("SELECT admin_id, action, target_id FROM admin_audit")
    assert tuple(audit) == (None, "purchase", str(user["id"]))
    # Another event id for the same paid session (Stripe retried with a new one) changes nothing.
    assert await _deliver(shop, _completed(session_id)) == 200
    assert await _purchase_entries(db) == [("purchase", 50)]


async def test_one_event_on_two_instances_at_once_credits_once(shop, billing_settings, db):
    _, user, session_id = await _bought(shop)
    delivery = _completed(session_id)
    async with running_app(billing_settings) as other:
        statuses = await asyncio.gather(*(_deliver(instance, delivery) for instance in (shop, other, shop, other)))
    assert statuses == [200, 200, 200, 200]
    assert await _purchase_entries(db) == [("purchase", 50)]
    assert await _credits(db, user) == user["credits"] + 50


async def test_an_async_payment_is_credited_when_it_succeeds(shop, db):
    _, user, session_id = await _bought(shop)
    assert await _deliver(shop, _completed(session_id, paid=False)) == 200
    assert await _credits(db, user) == user["credits"] and await _purchase_entries(db) == []
    succeeded = event("checkout.session.async_payment_succeeded", {"id": session_id, "payment_status": "paid"})
    assert await _deliver(shop, succeeded) == 200
    assert await _credits(db, user) == user["credits"] + 50


async def test_a_refund_after_the_credits_were_spent_takes_what_is_left_and_records_the_rest(shop, db):
    player, user, session_id = await _bought(shop)
    await _deliver(shop, _completed(session_id))
    room = await start(player, await open_room(player))
    await step_and_settle(player, room["id"])
    spent_to = await _credits(db, user)  # 20 + 50 - 1 step
    async with db.transaction():
        await db.execute("UPDATE users SET credits = 3 WHERE id = $1", user["id"])
        await db.execute(
            "INSERT INTO credit_ledger (user_id, delta, kind, reason) VALUES ($1, $2, 'admin_revoke', 'spent')",
            user["id"],
            3 - spent_to,
        )
    assert await _deliver(shop, _charge("charge.refunded", session_id, amount_refunded=500, refunded=True)) == 200
    assert await _credits(db, user) == 0
    row = await db.fetchrow("SELECT status, clawed_back, shortfall FROM purchases")
    assert tuple(row) == ("refunded", 3, 47)
    assert await _purchase_entries(db) == [("purchase", 50), ("purchase_clawback", -3)]


async def test_a_dispute_lost_then_won_takes_the_credits_and_gives_them_back(shop, db):
    _, user, session_id = await _bought(shop)
    await _deliver(shop, _completed(session_id))
    assert await _deliver(shop, _charge("charge.dispute.created", session_id, status="needs_response")) == 200
    assert await _credits(db, user) == user["credits"]
    assert await db.fetchval("SELECT status FROM purchases") == "disputed"
    assert await _deliver(shop, _charge("charge.dispute.closed", session_id, status="won")) == 200
    assert await _credits(db, user) == user["credits"] + 50
    assert await _purchase_entries(db) == [("purchase", 50), ("purchase_clawback", -50)]
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'dispute_return'") == 1


@pytest.mark.parametrize(
    "signing",
    [{"secret": "whsec_forged"}, {"at": 1_000_000_000}],  # a forged signature; a stale timestamp
    ids=["forged", "stale"],
)
async def test_a_webhook_that_does_not_verify_is_400_and_changes_nothing(shop, db, signing):
    _, user, session_id = await _bought(shop)
    assert await _deliver(shop, _completed(session_id), **signing) == 400
    missing = await shop.post("/api/billing/webhook", content=b"{}")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "bad_signature"
    assert await db.fetchval("SELECT count(*) FROM stripe_events") == 0
    assert await _credits(db, user) == user["credits"]


async def test_malformed_unknown_and_oversized_webhooks(shop, db):
    assert await _deliver(shop, b"{not json") == 400
    unknown = _completed("cs_test_nobody_made_this")
    assert await _deliver(shop, unknown) == 200  # recorded, ignored
    assert await _deliver(shop, event("customer.created", {"id": "cus_1"})) == 200
    assert await _purchase_entries(db) == []
    payload, signature = signed({"padding": "x" * 70_000})
    huge = await shop.post("/api/billing/webhook", content=payload, headers={"Stripe-Signature": signature})
    assert huge.status_code == 413


async def test_stripe_unreachable_is_503_and_records_nothing(billing_settings, db):
    settings = billing_settings.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})
    async with running_app(settings) as shop:
        player, _ = await new_player(shop)
        response = await player.post("/api/billing/checkout", json={"pack": "50"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "payments_unavailable"
    assert await db.fetchval("SELECT count(*) FROM purchases") == 0


async def test_the_checker_sees_a_paid_purchase_credited_twice(shop, db):
    from tests.invariants import InvariantBroken, check_invariants

    _, user, session_id = await _bought(shop)
    await _deliver(shop, _completed(session_id))
    broken = db.transaction()
    await broken.start()
    try:
        await db.execute("DROP INDEX credit_ledger_purchase")
        await db.execute(
            "INSERT INTO credit_ledger (user_id, delta, kind, purchase_session) VALUES ($1, 50, 'purchase', $2)",
            user["id"],
            session_id,
        )
        await db.execute("UPDATE users SET credits = credits + 50 WHERE id = $1", user["id"])
        with pytest.raises(InvariantBroken, match="2 purchase entries"):
            await check_invariants(db)
    finally:
        await broken.rollback()


async def test_operators_see_purchases_and_shortfalls(shop, db):
    from storage import accounts

    operator, boss = await new_player(shop)
    await accounts.make_admin(db, boss["email"])
    _, user, session_id = await _bought(shop)
    await _deliver(shop, _completed(session_id))
    await db.execute("UPDATE users SET credits = 0 WHERE id = $1", user["id"])
    await db.execute(
        "INSERT INTO credit_ledger (user_id, delta, kind, reason) VALUES ($1, $2, 'admin_revoke', 'spent')",
        user["id"],
        -(user["credits"] + 50),
    )
    await _deliver(shop, _charge("charge.dispute.created", session_id))
    listed = (await operator.get(f"/api/admin/purchases?user_id={user['id']}&status=disputed")).json()["purchases"]
    assert [(p["session_id"], p["shortfall"]) for p in listed] == [(session_id, 50)]
    overview = (await operator.get("/api/admin/overview")).json()
    assert [p["session_id"] for p in overview["shortfalls"]] == [session_id]
    bad = await operator.get("/api/admin/purchases?status=stolen")
    assert bad.status_code == 422

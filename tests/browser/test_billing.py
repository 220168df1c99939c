"""Buying credits in a browser: "Get credits", Stripe's page (a local fake of Stripe's API), the way
back, and Stripe's signed webhook; the balance in the header changes without a reload."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.browser.ui import axe_clean, person, sign_up
from tests.fakes.stripe_api import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, event, signed
from tests.servers import Served, free_port


async def test_a_player_buys_credits_and_sees_them_arrive_with_the_webhook(browser, database_url, tmp_path, shots):
    port = free_port()
    async with (
        FakeStripe() as stripe_api,
        Served(
            tmp_path / "data",
            port=port,
            DATABASE_URL=database_url,
            PUBLIC_URL=f"http://127.0.0.1:{port}",
            STRIPE_SECRET_KEY=SECRET_KEY,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=stripe_api.url,
        ) as served,
    ):
        ada = await person(browser, served, shots, "Ada")
        page = ada.page
        try:
            await page.goto("/")
            await sign_up(ada)
            await expect(page.locator("#account-credits")).to_have_text("20")
            await page.click("#get-credits")
            await expect(page.locator("#credits-dialog")).to_be_visible()
            await ada.shot("packs")
            await axe_clean(ada, "packs")
            await page.click("#credit-packs button[data-pack='50']")
            await page.wait_for_url(f"{stripe_api.url}/pay/*")  # Stripe's checkout page
            session_id = page.url.rsplit("/", 1)[1]

            # Stripe sends the player back before its webhook lands: the page waits for it.
            await page.goto(f"/?checkout=success&session_id={session_id}")
            await expect(page.locator("#checkout-note")).to_contain_text("Waiting for Stripe")
            await expect(page.locator("#account-credits")).to_have_text("20")
            completed = event(
                "checkout.session.completed",
                {"id": session_id, "payment_status": "paid", "payment_intent": "pi_" + session_id},
            )
            payload, signature = signed(completed)
            async with httpx.AsyncClient(base_url=served.url) as stripe:
                response = await stripe.post(
                    "/api/billing/webhook", content=payload, headers={"Stripe-Signature": signature}
                )
                assert response.status_code == 200
            await expect(page.locator("#account-credits")).to_have_text("70")
            await expect(page.locator("#checkout-note")).to_contain_text("Credits added")
            await ada.shot("credits-added")
            await axe_clean(ada, "credits added")
            ada.assert_clean()
        finally:
            await ada.context.close()

"""Accounts and sessions through the real app and a real database."""

import asyncio
import json
from http.cookies import SimpleCookie

import httpx

from server.http.sessions import SESSION_COOKIE
from server.settings import PASSWORD_FLOOR, Settings
from tests.conftest import ORIGIN, browser, make_settings, running_app, signup
from tests.server.test_addresses import GatedHasher


def _cookie_attributes(response: httpx.Response) -> dict:
    jar = SimpleCookie()
    jar.load(response.headers["set-cookie"])
    morsel = jar[SESSION_COOKIE]
    return {key: morsel[key] for key in ("httponly", "samesite", "secure", "path")}


async def test_signup_creates_user_with_session_and_granted_credits(client, db):
    response = await client.post(
        "/api/auth/signup",
        json={"email": "  Ada@Example.COM ", "password": "0123456789", "display_name": " Ada "},
    )
    assert response.status_code == 201
    user = response.json()["user"]
    assert user["email"] == "ada@example.com"
    assert user["display_name"] == "Ada"
    assert user["credits"] == 20 and user["is_admin"] is False
    assert _cookie_attributes(response) == {"httponly": True, "samesite": "lax", "secure": "", "path": "/"}
    assert (await client.get("/api/me")).json() == user
    ledger = await db.fetch("SELECT delta, kind FROM credit_ledger WHERE user_id = $1", user["id"])
    assert [tuple(row) for row in ledger] == [(20, "signup_grant")]


async def test_password_is_stored_as_argon2id_hash_with_production_costs(database_url, tmp_path, db):
    """The suite hashes cheaply (tests/conftest.py); this test pays production's price once."""
    costs = {
        "password_time_cost": PASSWORD_FLOOR["time_cost"],
        "password_memory_kib": PASSWORD_FLOOR["memory_kib"],
        "password_parallelism": PASSWORD_FLOOR["parallelism"],
    }
    assert Settings(_env_file=None).model_dump(include=set(costs)) == costs  # the defaults are the floor
    async with running_app(make_settings(database_url, tmp_path / "data", **costs)) as client:
        user = await signup(client, password="a long enough password")
        stored = await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user["id"])
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert "a long enough password" not in stored
        relogin = await client.post(
            "/api/auth/login", json={"email": user["email"], "password": "a long enough password"}
        )
        assert relogin.status_code == 200


async def test_session_token_is_stored_only_as_hash(client, db):
    await signup(client)
    token = client.cookies[SESSION_COOKIE]
    stored = await db.fetchval("SELECT token_hash FROM sessions")
    assert len(token) >= 43 and token.encode() not in stored and len(stored) == 32


async def test_email_is_unique_regardless_of_case(client, db):
    await signup(client, email="sam@example.com")
    response = await client.post(
        "/api/auth/signup",
        json={"email": "SAM@example.com", "password": "0123456789", "display_name": "Other"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert await db.fetchval("SELECT count(*) FROM credit_ledger") == 1


async def test_two_logins_give_two_working_sessions(client, settings, db):
    await signup(client, email="two@example.com", password="two sessions please")
    cookies = []
    for _ in range(2):
        async with browser(client) as other:
            response = await other.post(
                "/api/auth/login", json={"email": "TWO@example.com", "password": "two sessions please"}
            )
            assert response.status_code == 200
            assert response.json()["user"]["email"] == "two@example.com"
            cookies.append(other.cookies[SESSION_COOKIE])
    assert cookies[0] != cookies[1]
    assert await db.fetchval("SELECT count(*) FROM sessions") == 3
    for token in cookies:
        async with browser(client, token) as other:
            assert (await other.get("/api/me")).status_code == 200


async def test_wrong_password_and_unknown_email_are_refused_alike(client, db):
    await signup(client, email="kim@example.com")
    client.cookies.clear()
    for email, password in [("kim@example.com", "wrong password!"), ("nobody@example.com", "whatever123")]:
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"
    assert await db.fetchval("SELECT count(*) FROM sessions") == 1


async def test_logged_out_session_no_longer_works(client, db):
    await signup(client)
    token = client.cookies[SESSION_COOKIE]
    response = await client.post("/api/auth/logout")
    assert response.status_code == 204
    assert 'exq_session=""' in response.headers["set-cookie"]
    assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM sessions") is True
    async with browser(client, token) as other:
        response = await other.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"


async def test_me_without_session_is_401(client):
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "not_signed_in", "message": "Sign in first."}}


async def test_garbage_session_cookie_is_not_signed_in(client):
    for token in ["garbage", "x" * 5000, ""]:
        async with browser(client, token) as other:
            assert (await other.get("/api/me")).status_code == 401


async def test_expired_session_no_longer_works(client, db):
    await signup(client)
    await db.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert (await client.get("/api/me")).status_code == 401


async def test_disabled_user_cannot_sign_in_or_use_sessions(client, db):
    await signup(client, email="gone@example.com", password="disabled user pw")
    await db.execute("UPDATE users SET disabled_at = now()")
    assert (await client.get("/api/me")).status_code == 401
    client.cookies.clear()
    response = await client.post("/api/auth/login", json={"email": "gone@example.com", "password": "disabled user pw"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_disabled"


async def test_foreign_origin_is_refused_and_changes_nothing(client, db):
    await signup(client)
    for origin in ["http://evil.example", "null", None]:
        headers = {"Origin": origin} if origin else {}
        request = client.build_request("POST", "/api/auth/logout", headers=headers)
        if origin is None:
            del request.headers["Origin"]
        response = await client.send(request)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "bad_origin"
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE revoked_at IS NULL") == 1
    assert (await client.get("/api/me")).status_code == 200


async def test_sign_in_and_sign_up_want_json_from_our_origin_even_without_a_cookie(client, db):
    """Login CSRF: a cross-site form (text/plain, or any foreign Origin) cannot sign a victim in."""
    user = await signup(client, email="victim@example.com", password="the victim's password")
    client.cookies.clear()
    credentials = {"email": user["email"], "password": "the victim's password"}
    as_form = json.dumps(credentials)
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]:
        headers = {"Content-Type": content_type} if content_type else {}
        response = await client.post("/api/auth/login", content=as_form, headers=headers)
        assert response.status_code == 400, (content_type, response.text)
        assert response.json()["error"]["code"] == "json_required"
    for origin in ["http://elsewhere.example", "null"]:
        login = await client.post("/api/auth/login", headers={"Origin": origin}, json=credentials)
        assert login.status_code == 403 and login.json()["error"]["code"] == "bad_origin"
        body = {"email": "o@example.com", "password": "0123456789", "display_name": "O"}
        created = await client.post("/api/auth/signup", headers={"Origin": origin}, json=body)
        assert created.status_code == 403 and created.json()["error"]["code"] == "bad_origin"
    assert await db.fetchval("SELECT count(*) FROM sessions") == 1  # the signup's, nothing since
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    ours = await client.post(
        "/api/auth/login", headers={"Content-Type": "application/json; charset=utf-8"}, content=as_form
    )
    assert ours.status_code == 200
    client.cookies.clear()
    request = client.build_request("POST", "/api/auth/login", json=credentials)
    del request.headers["Origin"]  # not a browser: no Origin to check
    response = await client.send(request)
    assert response.status_code == 200, response.text
    client.cookies.clear()  # other requests without the cookie still skip the Origin check
    assert (await client.post("/api/auth/logout", headers={"Origin": "http://elsewhere.example"})).status_code == 204


def _from_address(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """Another browser on the same app, connecting from `address`."""
    transport = httpx.ASGITransport(app=client.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN})


async def test_guessing_from_many_addresses_does_not_lock_the_owner_out(database_url, tmp_path):
    """Failures count per (email, address), so the owner's right password from an address that
    did not guess still signs in; a slow ceiling per email bounds guessing from everywhere."""
    settings = make_settings(database_url, tmp_path, auth_attempts_per_email=2, auth_failures_per_email_per_hour=8)
    async with running_app(settings) as client:
        await signup(client, email="target@example.com", password="the owner's password")
        right = {"email": "target@example.com", "password": "the owner's password"}
        wrong = {"email": "target@example.com", "password": "a guess, wrong"}
        for n in range(3):
            async with _from_address(client, f"203.0.113.{n}") as attacker:
                assert [(await attacker.post("/api/auth/login", json=wrong)).status_code for _ in range(2)] == [
                    401,
                    401,
                ]
                assert (await attacker.post("/api/auth/login", json=right)).status_code == 429
        async with _from_address(client, "198.51.100.7") as owner:
            assert (await owner.post("/api/auth/login", json=right)).status_code == 200
        async with _from_address(client, "203.0.113.9") as attacker:
            assert [(await attacker.post("/api/auth/login", json=wrong)).status_code for _ in range(2)] == [401, 401]
        async with _from_address(client, "198.51.100.8") as anyone:  # 8 failures: the hourly ceiling
            ceiling = await anyone.post("/api/auth/login", json=right)
            assert ceiling.status_code == 429 and int(ceiling.headers["Retry-After"]) > 60

        # A burst of concurrent guesses gets no more than the limit: each counts before its
        # password is checked, not after; while the hasher holds two, the other three are refused.
        await signup(client, email="burst@example.com")
        gated = client.app.state.services.passwords.hasher = GatedHasher()
        burst = {"email": "burst@example.com", "password": "a wrong guess"}
        async with _from_address(client, "203.0.113.50") as attacker:
            guesses = [asyncio.create_task(attacker.post("/api/auth/login", json=burst)) for _ in range(5)]
            for _ in range(2):
                assert await asyncio.to_thread(gated.started.acquire, True, 10)
            gated.gate.set()
            answers = await asyncio.gather(*guesses)
        assert sorted(answer.status_code for answer in answers) == [401, 401, 429, 429, 429]


async def test_production_wants_public_url_origin_and_secure_cookie(database_url, tmp_path):
    settings = make_settings(
        database_url,
        tmp_path,
        exquisite_env="production",
        public_url="https://exquisite.example",
        redis_url="redis://127.0.0.1:1/0",  # never reached: nothing here publishes or counts in Redis
        blob_url=f"file://{tmp_path}/blobs",
    )
    async with running_app(settings) as client:
        client.headers["Origin"] = "https://exquisite.example"
        response = await client.post(
            "/api/auth/signup",
            json={"email": "p@example.com", "password": "0123456789", "display_name": "P"},
        )
        assert _cookie_attributes(response)["secure"] is True
        token = response.cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, token)
        own_host = await client.post("/api/auth/logout", headers={"Origin": ORIGIN})
        assert own_host.status_code == 403
        assert (await client.post("/api/auth/logout")).status_code == 204


async def test_login_is_rate_limited_per_email(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, auth_attempts_per_email=3)
    async with running_app(settings) as client:
        await signup(client, email="rl@example.com")
        for _ in range(2):
            response = await client.post(
                "/api/auth/login", json={"email": "rl@example.com", "password": "bad password"}
            )
            assert response.status_code == 401
        response = await client.post("/api/auth/login", json={"email": "RL@example.com", "password": "bad password"})
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert int(response.headers["Retry-After"]) >= 1
        other = await client.post("/api/auth/login", json={"email": "else@example.com", "password": "bad password"})
        assert other.status_code == 401


async def test_signup_is_rate_limited_per_address(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, auth_attempts_per_address=2)
    async with running_app(settings) as client:
        await signup(client)
        await signup(client)
        response = await client.post(
            "/api/auth/signup",
            json={"email": "third@example.com", "password": "0123456789", "display_name": "T"},
        )
        assert response.status_code == 429
        assert await db.fetchval("SELECT count(*) FROM users") == 2


async def test_session_says_who_is_signed_in_without_a_401(client):
    assert (await client.get("/api/session")).json() == {"user": None, "billing": False}
    user = await signup(client)
    assert (await client.get("/api/session")).json() == {"user": user, "billing": False}


async def test_successful_logins_do_not_count_against_the_email(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path, auth_attempts_per_email=3)
    async with running_app(settings) as client:
        await signup(client, email="often@example.com", password="signs in a lot")  # counts one, as a probe
        for _ in range(4):
            response = await client.post(
                "/api/auth/login", json={"email": "often@example.com", "password": "signs in a lot"}
            )
            assert response.status_code == 200
        wrong = await client.post("/api/auth/login", json={"email": "often@example.com", "password": "guess number 1"})
        assert wrong.status_code == 401
        again = await client.post("/api/auth/login", json={"email": "often@example.com", "password": "signs in a lot"})
        assert again.status_code == 200  # two of three allowed
        wrong = await client.post("/api/auth/login", json={"email": "often@example.com", "password": "guess number 2"})
        locked = await client.post("/api/auth/login", json={"email": "often@example.com", "password": "signs in a lot"})
        assert locked.status_code == 429  # this address guessed: locked out here, for a minute


async def test_changing_the_password_signs_out_every_other_session(client, db):
    user = await signup(client, password="the first password")
    other = browser(client)
    login = await other.post("/api/auth/login", json={"email": user["email"], "password": "the first password"})
    assert login.status_code == 200
    wrong = await client.post("/api/me/password", json={"old_password": "a guess", "new_password": "x" * 12})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    short = await client.post("/api/me/password", json={"old_password": "the first password", "new_password": "short"})
    assert short.status_code == 422 and short.json()["error"]["field"] == "new_password"
    changed = await client.post(
        "/api/me/password", json={"old_password": "the first password", "new_password": "the second password"}
    )
    assert changed.status_code == 204
    assert (await client.get("/api/me")).status_code == 200  # this session stays
    assert (await other.get("/api/me")).status_code == 401  # the other one is signed out
    old = await other.post("/api/auth/login", json={"email": user["email"], "password": "the first password"})
    assert old.status_code == 401
    new = await other.post("/api/auth/login", json={"email": user["email"], "password": "the second password"})
    assert new.status_code == 200

"""Finding 5: the client address is the platform proxy's right-most hop, never what the client
wrote; and a burst of sign-ins hashes under a bounded semaphore."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest
import yaml

from server import cli
from server.http.addresses import ForwardedFor, forwarded_client
from server.http.passwords import Passwords
from storage import Unavailable
from tests.conftest import ORIGIN, make_settings, running_app


def test_the_client_is_the_entry_the_trusted_hops_appended():
    assert forwarded_client(["198.51.100.1, 203.0.113.5"], 1) == "203.0.113.5"
    assert forwarded_client(["198.51.100.1", "203.0.113.5, 10.0.0.2"], 2) == "203.0.113.5"  # lines join in order
    assert forwarded_client(["2001:DB8::1"], 1) == "2001:db8::1"
    assert forwarded_client(["203.0.113.5, not-even-an-ip"], 1) is None  # invalid: ignored, not believed
    assert forwarded_client(["203.0.113.5:8080"], 1) is None
    assert forwarded_client(["203.0.113.5"], 2) is None  # fewer proxies than we trust wrote it
    assert forwarded_client(["203.0.113.5"], 0) is None
    assert forwarded_client([], 1) is None


async def test_a_spoofed_forwarded_for_neither_evades_the_address_limit_nor_sets_the_address(database_url, tmp_path):
    settings = make_settings(database_url, tmp_path, auth_attempts_per_address=2, trusted_proxy_hops=1)
    async with running_app(settings) as client:
        transport = httpx.ASGITransport(app=client.app, client=("10.0.0.2", 5000))  # the proxy's own address
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}) as http:

            async def signup_as(n: int, forwarded: str) -> httpx.Response:
                body = {"email": f"spoof{n}@example.com", "password": "0123456789", "display_name": "S"}
                return await http.post("/api/auth/signup", json=body, headers={"X-Forwarded-For": forwarded})

            # The client writes any left-most entries it likes; the proxy appends what it saw.
            assert (await signup_as(1, "1.1.1.1, 203.0.113.5")).status_code == 201
            assert (await signup_as(2, "2.2.2.2, 203.0.113.5")).status_code == 201
            refused = await signup_as(3, "3.3.3.3, 203.0.113.5")
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            # Another client, seen by the proxy at another address, has its own count.
            assert (await signup_as(4, "203.0.113.5, 203.0.113.77")).status_code == 201
            # An invalid address is ignored: the request counts against the peer (the proxy).
            assert (await signup_as(5, "not-even-an-ip")).status_code == 201
            assert (await signup_as(6, "203.0.113.9, garbage")).status_code == 201
            assert (await signup_as(7, "nonsense")).status_code == 429


def test_serve_trusts_no_forwarded_header_but_the_configured_hops(monkeypatch, tmp_path):
    """uvicorn's own proxy handling is off whatever FORWARDED_ALLOW_IPS says (with "*" it takes
    the left-most entry); ForwardedFor with TRUSTED_PROXY_HOPS decides the address."""
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    monkeypatch.setattr(cli, "configure_logging", lambda **_: None)  # the suite's logging stays
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    cli.main(["serve", "--data-dir", str(tmp_path)])
    assert served["proxy_headers"] is False and served["forwarded_allow_ips"] == ""

    def hops() -> int:
        [forwarded] = [m for m in served["app"].user_middleware if m.cls is ForwardedFor]
        return forwarded.kwargs["hops"]

    assert hops() == 1
    cli.main(["serve", "--data-dir", str(tmp_path), "--trusted-proxy-hops", "2"])  # as the Procfile says it
    assert hops() == 2
    monkeypatch.delenv("TRUSTED_PROXY_HOPS")
    cli.main(["serve", "--data-dir", str(tmp_path)])
    assert hops() == 0  # the default: no header is believed


def test_the_deploy_files_trust_one_proxy_hop_and_never_forwarded_allow_ips():
    root = Path(__file__).resolve().parents[2]
    (web,) = [s for s in yaml.safe_load((root / "render.yaml").read_text())["services"] if s["type"] == "web"]
    env = {variable["key"]: variable for variable in web["envVars"]}
    assert env["TRUSTED_PROXY_HOPS"] == {"key": "TRUSTED_PROXY_HOPS", "value": "1"}
    assert "FORWARDED_ALLOW_IPS" not in env
    web = dict(line.split(":", 1) for line in (root / "Procfile").read_text().splitlines())["web"]
    assert "FORWARDED_ALLOW_IPS" not in web and web.split()[-2:] == ["--trusted-proxy-hops", "1"]


class GatedHasher:
    """Stands in for argon2: each hash (or check) says it started, then waits for the gate."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()

    def hash(self, password: str) -> str:
        self.started.release()
        self.gate.wait(10)
        return f"hashed:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.started.release()
        self.gate.wait(10)
        return password_hash == f"hashed:{password}"


async def test_hashing_runs_a_bounded_number_at_once_and_refuses_past_its_queue():
    passwords = Passwords(time_cost=1, memory_kib=8, parallelism=1, concurrency=2, queue=1)
    gated = GatedHasher()
    passwords.hasher = gated
    hashes = [asyncio.create_task(passwords.hash(f"pw{n}")) for n in range(3)]
    for _ in range(2):
        assert await asyncio.to_thread(gated.started.acquire, True, 10)
    assert not gated.started.acquire(blocking=False)  # the third waits for a turn, not in a thread
    with pytest.raises(Unavailable) as busy:
        await passwords.hash("one too many")
    assert busy.value.code == "busy" and busy.value.retry_after >= 1
    gated.gate.set()
    assert await asyncio.gather(*hashes) == ["hashed:pw0", "hashed:pw1", "hashed:pw2"]
    assert passwords.peak_running == 2 and passwords.running == 0
    assert await passwords.hash("room again") == "hashed:room again"


async def test_a_cancelled_sign_in_keeps_its_turn_until_its_hash_ends():
    passwords = Passwords(time_cost=1, memory_kib=8, parallelism=1, concurrency=1, queue=0)
    gated = GatedHasher()
    passwords.hasher = gated
    first = asyncio.create_task(passwords.hash("abandoned"))
    assert await asyncio.to_thread(gated.started.acquire, True, 10)
    first.cancel()
    with pytest.raises(Unavailable):  # the cancelled request's hash still holds the only turn
        await passwords.hash("next")
    gated.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await passwords.hash("next") == "hashed:next"

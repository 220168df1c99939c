"""The app with GENERATOR=openai and MODERATION=openai, through the real SDK, against the fake
OpenAI API on a real port: what a step sends, what each failure does to the step, the prompt check
before any debit, and the alarm when the model or key is wrong."""

from __future__ import annotations

import hashlib
import hmac
import logging
from contextlib import asynccontextmanager

import pytest

from server.settings import Settings
from tests.conftest import make_settings, running_app
from tests.fakes.openai_api import API_KEY, FakeOpenAI
from tests.play import join, new_player, open_room, snapshot, start, step_and_settle, submit


@pytest.fixture(scope="module")
async def fake():
    async with FakeOpenAI() as api:
        yield api


def _settings(database_url, tmp_path, fake, **overrides):
    values = dict(
        generator="openai",
        openai_api_key=API_KEY,
        openai_base_url=fake.base_url,
        openai_partial_images=1,
        moderation="openai",
        generator_timeout_seconds=30.0,  # roomy, and shorter than the fake's Retry-After of 60 s
    )
    return make_settings(database_url, tmp_path, **(values | overrides))


@asynccontextmanager
async def _app(settings):
    """running_app, closing its OpenAI generator after: an app given a generator leaves it to its
    owner (server/lifespan.py), and an unclosed client's sockets warn when collected."""
    async with running_app(settings) as client:
        try:
            yield client
        finally:
            await client.app.state.services.generator.aclose()


async def _playing_room(client):
    (host, user), (guest, _) = [await new_player(client) for _ in range(2)]
    room = await open_room(host)
    await join(guest, room)
    return await start(host, room), host, user


async def test_a_flagged_prompt_costs_nothing_and_a_fine_one_paints_for_a_player_unnamed(
    database_url, tmp_path, fake, db
):
    fake.reset()
    async with _app(_settings(database_url, tmp_path, fake)) as client:
        room, host, user = await _playing_room(client)
        before = await snapshot(host, room["id"])
        response = await submit(host, room["id"], prompt="something forbidden")
        assert response.status_code == 422
        assert response.json()["error"] == {
            "code": "prompt_refused",
            "message": "prompt: This prompt was refused by the content policy; try another.",
            "field": "prompt",
        }
        # Refused before any debit: no step, no event, no credit spent, no image asked for.
        assert (await snapshot(host, room["id"]))["seq"] == before["seq"]
        assert (await host.get("/api/me")).json()["credits"] == user["credits"]
        assert await db.fetchval("SELECT count(*) FROM steps") == 0 and fake.edits == []

        step = await step_and_settle(host, room["id"], prompt="a lighthouse at dusk")
    assert step["status"] == "committed", step
    assert fake.moderations == ["something forbidden", "a lighthouse at dusk"]
    (edit,) = fake.edits
    assert edit.fields["size"] == "816x816" and edit.fields["prompt"] == "a lighthouse at dusk"
    mac = hmac.new(b"test-secret", f"openai-safety-identifier:{user['id']}".encode(), hashlib.sha256).hexdigest()
    assert edit.fields["safety_identifier"] == mac
    assert user["email"].encode() not in b"".join(v.encode() for v in edit.fields.values())


async def test_each_generator_failure_aborts_with_its_own_reason_and_a_refund(database_url, tmp_path, fake, caplog):
    cases = [
        ("refuse", "generator_refused"),
        ("rate_limited", "generator_busy"),  # Retry-After 60 s: past the deadline, so not retried
        ("transparent", "generator_bad_output"),
        ("no_model", "generator_unavailable"),
        ("stall", "generator_timeout"),
    ]
    fake.reset(*(mode for mode, _ in cases))
    fake.retry_after = "60"
    async with _app(_settings(database_url, tmp_path, fake)) as client:
        room, host, user = await _playing_room(client)
        with caplog.at_level(logging.INFO, logger="server.play.step"):
            for mode, reason in cases:
                if mode == "stall":  # a short deadline only now, when the connection is open
                    client.app.state.services.generator.target.timeout = 0.5
                before = await snapshot(host, room["id"])
                step = await step_and_settle(host, room["id"])
                assert (step["status"], step["reason"]) == ("aborted", reason), mode
                events = (await host.get(f"/api/rooms/{room['id']}/events?after={before['seq']}")).json()["events"]
                assert [(e["kind"], e["data"].get("reason")) for e in events] == [
                    ("step.started", None),
                    ("step.aborted", reason),
                ]
        assert (await host.get("/api/me")).json()["credits"] == user["credits"]
        metrics = (await client.get("/metrics")).text
    for _, reason in cases:
        assert f'exquisite_generator_failures_total{{reason="{reason}"}} 1.0' in metrics
        assert f'exquisite_steps_total{{reason="{reason}",status="aborted"}} 1.0' in metrics
    assert "exquisite_generator_unavailable 1.0" in metrics
    failed = [r for r in caplog.records if "generator failed" in r.getMessage()]
    levels = {r.getMessage().split("(")[1].split(")")[0]: r.levelno for r in failed}
    assert levels["generator_unavailable"] == logging.ERROR and levels["generator_refused"] == logging.INFO
    fake.retry_after = "0"


async def test_an_unknown_model_fails_readiness_and_says_what_to_set(database_url, tmp_path, fake, caplog):
    fake.reset()
    settings = _settings(database_url, tmp_path, fake, openai_model="gpt-image-9", moderation="off")
    with caplog.at_level(logging.ERROR, logger="server.lifespan"):
        async with _app(settings) as client:
            ready = await client.get("/readyz")
            metrics = (await client.get("/metrics")).text
    assert ready.status_code == 503 and ready.json()["checks"]["generator"] == "down"
    assert "exquisite_generator_unavailable 1.0" in metrics
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "GENERATOR=openai cannot paint" in line and "set OPENAI_MODEL" in line


def test_production_refuses_the_openai_generator_or_moderation_without_a_key():
    production = dict(
        exquisite_env="production",
        session_secret="s",
        database_url="postgresql://x/y",
        redis_url="redis://x",
        blob_url="file:///srv/b",
    )
    assert Settings(_env_file=None, **production, generator="openai", openai_api_key="sk-1").production_problems() == []
    for extra in ({"generator": "openai"}, {"moderation": "openai"}):
        problems = Settings(_env_file=None, **production, **extra).production_problems()
        assert any("OPENAI_API_KEY" in problem for problem in problems), extra

"""Fuzzes the JSON API, from its own `/openapi.json`, against a real `exquisite serve`.

Schemathesis builds requests from the description (valid ones and, in negative mode, invalid
ones); every answer must be no 500, an envelope when it is a refusal, and what the description
says. Hypothesis and the blocking HTTP client run in a worker thread, so that this test's
event loop keeps draining the server's log pipe meanwhile.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from server.http.openapi import build_spec
from server.http.sessions import SESSION_COOKIE
from tests.servers import Served
from tests.sockets import room_socket

MAX_EXAMPLES = 25
# Auth and step submissions are rate limited; the fuzz must not trip that by accident.
UNLIMITED = {
    "AUTH_ATTEMPTS_PER_ADDRESS": 100000,
    "AUTH_ATTEMPTS_PER_EMAIL": 100000,
    "STEPS_PER_MINUTE": 100000,
    "ADMIN_REQUESTS_PER_MINUTE": 100000,
}
# Our session goes with every request: the cookie is not a parameter to leave out or spoil.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
# These change the state the rest relies on (the session, the room), so they run last.
LAST = ["skipTurn", "removeMember", "leaveRoom", "finishRoom", "rematchRoom", "logout"]


def error_envelope(ctx, response, case) -> None:
    """Every refusal and failure is `{"error": {"code": str, "message": str, ...}}`."""
    if response.status_code < 400 or (case.operation.path == "/readyz" and response.status_code == 503):
        return  # a 503 from /readyz is its own report, described as such
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"{response.status_code} without the error envelope: {response.text[:300]!r}") from None
    assert isinstance(error, dict), error
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), error
    return


BOTH_MODES = [not_a_server_error, error_envelope, status_code_conformance, content_type_conformance]
CHECKS = {
    GenerationMode.POSITIVE: [*BOTH_MODES, response_schema_conformance],
    GenerationMode.NEGATIVE: [*BOTH_MODES, response_schema_conformance, negative_data_rejection],
}


async def _played_room(server: Served, http: httpx.AsyncClient) -> dict:
    """A playing room with one committed tile, so that fixed ids reach the real rows."""
    response = await http.post("/api/rooms", json={"name": "Fuzzed", "mode": "open"})
    room_id = response.json()["room"]["id"]
    room = (await http.post(f"/api/rooms/{room_id}/start")).json()["room"]
    step = {"turn_nonce": room["turn"]["nonce"], "prompt": "a lighthouse", "direction": "right"}
    async with room_socket(server, http, room_id) as sock:
        await sock.frame()
        response = await http.post(f"/api/rooms/{room_id}/steps", json=step, headers={"Idempotency-Key": "fuzz-1"})
        step_id = response.json()["step"]["id"]
        await sock.next_event("step.committed")
    step = (await http.get(f"/api/rooms/{room_id}/steps/{step_id}")).json()
    assert step["status"] == "committed", step
    sha256 = step["tile"]["url"].removeprefix("/blobs/").removesuffix(".png")
    return {"room_id": room_id, "step_id": step_id, "sha256": sha256}


def _order(operation) -> int:
    operation_id = operation.definition.raw["operationId"]
    return LAST.index(operation_id) + 1 if operation_id in LAST else 0


def _fuzz(schema, base_url: str, cookies: dict, headers: dict, known: dict) -> list[str]:
    """Runs every operation in both modes, with generated ids and with the known ones;
    returns one report per failing run."""
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=_order)
    failures = []
    for operation in operations:
        path_names = {p.name for p in operation.path_parameters}
        fixed = {name: known[name] for name in path_names if name in known}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in [None, fixed] if fixed else [None]:
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
                label = f"{operation.label} [{mode.value}{', known ids' if path_parameters else ''}]"
                try:
                    _run(strategy, CHECKS[mode], base_url, cookies, headers)
                except hypothesis.errors.Unsatisfiable as exc:
                    if mode is GenerationMode.NEGATIVE:
                        continue  # nothing to spoil: no free parameter and no body
                    failures.append(f"{label}\n{exc}")
                # A FailureGroup (several failed checks) is a BaseExceptionGroup; report all at the end.
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
                    failures.append(f"{label}\n{exc}")
    return failures


def _run(strategy, checks, base_url: str, cookies: dict, headers: dict) -> None:
    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case) -> None:
        response = case.call(base_url=base_url, cookies=cookies, headers=headers, timeout=30)
        case.validate_response(response, checks=checks, headers=headers)

    fuzz()


async def test_fuzzed_requests_get_no_500_and_only_described_answers(tmp_path, database_url):
    async with Served(tmp_path / "data", DATABASE_URL=database_url, **UNLIMITED) as server:
        headers = {"Origin": server.url}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            body = {"email": "fuzz@example.com", "password": "correct horse battery", "display_name": "Fuzz"}
            assert (await http.post("/api/auth/signup", json=body)).status_code == 201
            cookies = {SESSION_COOKIE: http.cookies[SESSION_COOKIE]}
            known = await _played_room(server, http)
        # An operator, so that the admin routes are fuzzed past their door too.
        conn = await asyncpg.connect(database_url)
        await conn.execute("UPDATE users SET is_admin = true")
        await conn.close()
        schema = await asyncio.to_thread(schemathesis.openapi.from_url, f"{server.url}/openapi.json", config=CONFIG)
        failures = await asyncio.to_thread(_fuzz, schema, server.url, cookies, headers, known)
    assert not failures, f"{len(failures)} failing runs:\n\n" + "\n\n".join(failures)


async def test_description_covers_every_http_route(settings):
    """Each HTTP route of the app is described, except the client's pages, the websockets and
    the static files."""
    pages = {"/", "/rooms/{room_id}", "/join/{room_id}", "/share/{room_id}", "/admin"}
    described = {(path, method) for path, operations in build_spec()["paths"].items() for method in operations}
    served = set()
    for route in create_app(settings).routes:
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None)
        if methods is None or path in pages:
            continue  # websockets and mounts have no methods
        path = path.replace("/blobs/{name}", "/blobs/{sha256}.png")
        served |= {(path, method.lower()) for method in methods - {"HEAD"}}
    assert served == described

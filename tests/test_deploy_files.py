"""The deploy files say what Render and a Procfile platform need (docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _blueprint() -> dict:
    return yaml.safe_load((ROOT / "render.yaml").read_text())


def _web_service() -> dict:
    (web,) = [service for service in _blueprint()["services"] if service["type"] == "web"]
    return web


def _env(service: dict) -> dict:
    return {variable["key"]: variable for variable in service["envVars"]}


def test_blueprint_runs_the_app_on_port_with_migrate_before_deploy():
    web = _web_service()
    assert web["runtime"] == "python"
    assert web["name"]
    assert "uv sync --frozen" in web["buildCommand"]
    assert "exquisite serve" in web["startCommand"] and "--port $PORT" in web["startCommand"]
    assert "--host 0.0.0.0" in web["startCommand"]
    assert "exquisite migrate" in web["preDeployCommand"]
    assert web["healthCheckPath"] == "/readyz"
    assert web.get("numInstances", 1) >= 2 or web["scaling"]["minInstances"] >= 2


def test_blueprint_wires_postgres_redis_and_secrets_by_environment():
    blueprint = _blueprint()
    env = _env(_web_service())
    (database,) = blueprint["databases"]
    (bus,) = [service for service in blueprint["services"] if service["type"] == "keyvalue"]
    assert env["EXQUISITE_ENV"]["value"] == "production"
    assert env["DATABASE_URL"]["fromDatabase"] == {"name": database["name"], "property": "connectionString"}
    assert env["REDIS_URL"]["fromService"] == {"type": "keyvalue", "name": bus["name"], "property": "connectionString"}
    assert env["SESSION_SECRET"]["generateValue"] is True
    assert "ipAllowList" in bus


def test_blueprint_asks_for_the_bucket_and_keys_without_committing_them():
    env = _env(_web_service())
    for key in ("PUBLIC_URL", "BLOB_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
                "AWS_REGION", "OPENAI_API_KEY"):
        assert env[key] == {"key": key, "sync": False}, key
    assert env["GENERATOR"]["value"] in ("mock", "openai")


def test_procfile_serves_on_port_and_migrates_on_release():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert processes["web"].split()[:2] == ["exquisite", "serve"]
    assert "--port $PORT" in processes["web"]
    assert processes["release"].split() == ["exquisite", "migrate"]


def test_procfile_commands_are_ones_the_cli_knows():
    from server.cli import _parser

    for line in (ROOT / "Procfile").read_text().splitlines():
        command = line.split(":", 1)[1].replace("$PORT", "8000").split()
        assert command[0] == "exquisite"
        _parser().parse_args(command[1:])


def test_deploy_guide_covers_admin_bus_bucket_and_health():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for needed in ("create-admin", "REDIS_URL", "BLOB_URL", "/readyz", "SESSION_SECRET", "numInstances"):
        assert needed in guide, needed

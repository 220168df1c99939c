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


# The fields Render's Blueprint specification defines for what the blueprint declares: a misspelt
# field (`healthcheckPath`) is not an error to Render, it is silently ignored, so it is one here.
BLUEPRINT_FIELDS = {
    "web": {
        "type", "name", "runtime", "plan", "region", "numInstances", "scaling", "buildCommand",
        "preDeployCommand", "startCommand", "healthCheckPath", "maxShutdownDelaySeconds", "envVars",
        "autoDeploy", "branch", "rootDir", "buildFilter",
    },
    "keyvalue": {"type", "name", "plan", "region", "maxmemoryPolicy", "ipAllowList"},
    "database": {"name", "databaseName", "user", "plan", "postgresMajorVersion", "region", "ipAllowList", "diskSizeGB"},
}  # fmt: skip
ENV_SOURCES = {"value", "fromDatabase", "fromService", "generateValue", "sync"}


def test_blueprint_uses_only_fields_render_reads_with_their_types():
    blueprint = _blueprint()
    assert set(blueprint) == {"services", "databases"}
    for service in blueprint["services"]:
        assert set(service) <= BLUEPRINT_FIELDS[service["type"]], set(service) - BLUEPRINT_FIELDS[service["type"]]
    for database in blueprint["databases"]:
        assert set(database) <= BLUEPRINT_FIELDS["database"], set(database) - BLUEPRINT_FIELDS["database"]
        assert isinstance(database["postgresMajorVersion"], str) and database["ipAllowList"] == []
    web = _web_service()
    assert isinstance(web["numInstances"], int) and isinstance(web["maxShutdownDelaySeconds"], int)
    for variable in web["envVars"]:
        sources = set(variable) - {"key"}
        assert len(sources) == 1 and sources <= ENV_SOURCES, variable
        assert not isinstance(variable.get("value"), bool | int | float), variable  # env values are strings


def test_blueprint_runs_the_app_on_port_with_migrate_before_deploy():
    from server.cli import _parser

    web = _web_service()
    assert web["runtime"] == "python"
    assert web["buildCommand"] == "pip install uv && uv sync --frozen --no-dev"
    start = web["startCommand"].split()
    assert start[:4] == ["uv", "run", "--no-sync", "exquisite"]
    served = _parser().parse_args(web["startCommand"].replace("$PORT", "8000").split()[4:])
    assert (served.command, served.host, served.port) == ("serve", "0.0.0.0", 8000)
    assert web["preDeployCommand"].split() == ["uv", "run", "--no-sync", "exquisite", "migrate"]
    assert web["healthCheckPath"] == "/readyz"
    assert web["numInstances"] >= 2


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
    for key in (
        "PUBLIC_URL",
        "BLOB_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "OPENAI_API_KEY",
    ):
        assert env[key] == {"key": key, "sync": False}, key
    assert env["GENERATOR"]["value"] in ("mock", "openai")


def test_procfile_serves_on_port_and_migrates_on_release():
    processes = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
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

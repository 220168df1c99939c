from pathlib import Path

from server.settings import Settings


def test_defaults_follow_the_design(monkeypatch):
    for name in ["SIGNUP_CREDITS", "STEP_COST", "GENERATOR", "EXQUISITE_ENV", "DATABASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.signup_credits == 20
    assert settings.step_cost == 1
    assert settings.step_lease_seconds == 30
    assert settings.generator == "mock"
    assert settings.openai_model == "gpt-image-1"
    assert settings.exquisite_env == "development"
    assert settings.embedded_database
    assert settings.production_problems() == []


def test_environment_variables_are_read_once_into_typed_fields(monkeypatch):
    monkeypatch.setenv("SIGNUP_CREDITS", "5")
    monkeypatch.setenv("MOCK_FAIL_RATE", "0.25")
    monkeypatch.setenv("BLOB_URL", "file:///srv/blobs")
    monkeypatch.setenv("EXQUISITE_DATA_DIR", "/srv/data")
    settings = Settings(_env_file=None)
    assert settings.signup_credits == 5
    assert settings.mock_fail_rate == 0.25
    assert settings.blob_dir == Path("/srv/blobs")
    assert settings.data_dir == Path("/srv/data")

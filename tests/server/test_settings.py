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
    assert settings.openai_model == "gpt-image-2.5-flare"
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


PRODUCTION = dict(
    exquisite_env="production",
    session_secret="s",
    database_url="postgresql://x/y",
    redis_url="redis://x",
    blob_url="file:///srv/b",
)


def test_production_refuses_a_stripe_key_without_its_webhook_secret_or_a_test_key():
    live = Settings(_env_file=None, **PRODUCTION, stripe_secret_key="sk_live_1", stripe_webhook_secret="whsec_1")
    assert live.production_problems() == [] and live.billing
    no_secret = Settings(_env_file=None, **PRODUCTION, stripe_secret_key="sk_live_1")
    assert any("STRIPE_WEBHOOK_SECRET" in p for p in no_secret.production_problems())
    test_key = {"stripe_secret_key": "sk_test_1", "stripe_webhook_secret": "whsec_1"}
    assert any("test key" in p for p in Settings(_env_file=None, **PRODUCTION, **test_key).production_problems())
    allowed = Settings(_env_file=None, **PRODUCTION, **test_key, stripe_allow_test_keys=True)
    assert allowed.production_problems() == []


def test_credit_packs_must_be_credits_and_prices():
    import pytest
    from pydantic import ValidationError

    assert Settings(_env_file=None, credit_packs=" 50:500 , 120:1000").packs == {50: 500, 120: 1000}
    for bad in ("", "50", "50:0", "x:1", "50:500;120:1000"):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, credit_packs=bad)

"""Settings: REGATE_* variables, comma lists, secrets from Secrets Manager."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from regate.settings import DEFAULT_PASTELL_FLUX, Settings, resolve_secrets


def test_defaults_cover_the_act_flux() -> None:
    flux = Settings().pastell_flux
    for expected in ("actes-generique", "actes-automatique", "ls-actes", "deliberations-studio"):
        assert expected in flux
    assert flux == DEFAULT_PASTELL_FLUX


def test_env_overrides_and_comma_list(monkeypatch_env) -> None:
    monkeypatch_env(REGATE_PASTELL_FLUX=" ls-actes , deliberations-studio,,", REGATE_RAW_BUCKET="my-raw")
    settings = Settings()
    assert settings.pastell_flux == ("ls-actes", "deliberations-studio")
    assert settings.raw_bucket == "my-raw"


def test_urls_lose_trailing_slash() -> None:
    settings = Settings(pastell_url="https://pastell.example.org/", datagouv_url="https://demo.data.gouv.fr/")
    assert settings.pastell_url == "https://pastell.example.org"
    assert settings.datagouv_url == "https://demo.data.gouv.fr"


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Settings(pastell_concurrency=0)
    with pytest.raises(ValidationError):
        Settings(publication_mode="everything")


def test_secrets_never_show_in_repr() -> None:
    settings = Settings(pastell_password="hunter2", datagouv_api_key="k3y")
    assert "hunter2" not in repr(settings)
    assert "k3y" not in repr(settings)


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.asked.append(SecretId)
        return {"SecretString": self.values[SecretId]}


def test_secrets_are_resolved_from_secrets_manager() -> None:
    fake = FakeSecrets(
        {
            "arn:pastell": json.dumps({"user": "harvest", "password": "pw", "token": "tok"}),
            "arn:datagouv": json.dumps({"api_key": "udata-key"}),
        }
    )
    settings = resolve_secrets(
        Settings(pastell_secret_arn="arn:pastell", datagouv_secret_arn="arn:datagouv"), fake
    )
    assert settings.pastell_user == "harvest"
    assert settings.pastell_password.get_secret_value() == "pw"
    assert settings.pastell_token.get_secret_value() == "tok"
    assert settings.datagouv_api_key.get_secret_value() == "udata-key"
    assert fake.asked == ["arn:pastell", "arn:datagouv"]


def test_malformed_secret_is_a_clear_error() -> None:
    fake = FakeSecrets({"arn:pastell": "not json"})
    with pytest.raises(ValueError, match="not a JSON object"):
        resolve_secrets(Settings(pastell_secret_arn="arn:pastell"), fake)

"""Every ``regate`` command answers an operator mistake with two lines and exit code 2, never a traceback.

Through the typer CLI runner (the real command group, hence the real error-translation layer), on moto
S3 and closed loopback ports for "unreachable"."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from regate.cli.main import app
from regate.settings import get_settings

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def env(settings: Any, tmp_path: Path) -> dict[str, str | None]:
    """A working configuration (moto buckets), no retries, no backoff: each case breaks one thing."""
    return {
        "REGATE_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "REGATE_RAW_BUCKET": settings.raw_bucket,
        "REGATE_CURATED_BUCKET": settings.curated_bucket,
        "REGATE_S3_MAX_ATTEMPTS": "1",
        "REGATE_HTTP_MAX_ATTEMPTS": "1",
        "REGATE_HTTP_BACKOFF_BASE_SECONDS": "0",
        "REGATE_PASTELL_URL": f"http://127.0.0.1:{_closed_port()}",
        "REGATE_PASTELL_USER": "operateur",
        "REGATE_PASTELL_PASSWORD": "secret",
        "REGATE_DATAGOUV_URL": f"http://127.0.0.1:{_closed_port()}",
        "REGATE_DATAGOUV_API_KEY": "key",
        "REGATE_DATAGOUV_ORG": "opsn",
        "REGATE_API_CACHE_DIR": str(tmp_path / "cache"),
        "REGATE_RECHERCHE_ENTREPRISES_ENABLED": "false",
        "REGATE_DEBUG": None,
        "NO_COLOR": "1",
    }


@pytest.fixture()
def zip_file(tmp_path: Path) -> str:
    path = tmp_path / "Z0001.zip"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    return str(path)


def invoke(args: list[str], env: dict[str, str | None]) -> Any:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()


def assert_operator_error(result: Any, *needles: str, code: int = 2) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and 1 <= len(lines) <= 2, result.output
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in result.output, (needle, result.output)


S3_COMMANDS = {
    "capture": lambda z: ["capture"],
    "ingest": lambda z: ["ingest", z],
    "normalize": lambda z: ["normalize"],
    "rebuild": lambda z: ["rebuild"],
    "publish": lambda z: ["publish"],
    "serve": lambda z: ["serve", "--port", "0"],
}
USES_RAW = {"capture", "ingest", "normalize", "rebuild"}


@pytest.fixture()
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str | None]]:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # botocore caches resolved credentials per session
    yield {
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    }


@pytest.mark.parametrize("command", sorted(S3_COMMANDS))
def test_missing_aws_credentials(command: str, env: dict, zip_file: str, no_aws_credentials: dict) -> None:
    result = invoke(S3_COMMANDS[command](zip_file), {**env, **no_aws_credentials})
    assert_operator_error(result, "no usable S3 credentials", "AWS_ACCESS_KEY_ID", "REGATE_S3_ENDPOINT_URL")


@pytest.mark.parametrize("command", sorted(S3_COMMANDS))
def test_unreachable_s3_endpoint(command: str, env: dict, zip_file: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = invoke(S3_COMMANDS[command](zip_file), {**env, "REGATE_S3_ENDPOINT_URL": url})
    assert_operator_error(result, f"S3 endpoint unreachable: {url}", "REGATE_S3_ENDPOINT_URL")


@pytest.mark.parametrize("command", sorted(S3_COMMANDS))
def test_wrong_bucket_name(command: str, env: dict, zip_file: str) -> None:
    variable = "REGATE_RAW_BUCKET" if command in USES_RAW else "REGATE_CURATED_BUCKET"
    result = invoke(S3_COMMANDS[command](zip_file), {**env, variable: "no-such-bucket-regate"})
    assert_operator_error(result, "S3 bucket 'no-such-bucket-regate' does not exist", variable)


def test_invalid_bucket_name_and_invalid_setting(env: dict) -> None:
    bad = invoke(["normalize"], {**env, "REGATE_CURATED_BUCKET": "Not_A_Bucket!"})
    assert_operator_error(bad, "invalid S3 bucket name", "REGATE_CURATED_BUCKET")
    setting = invoke(["normalize"], {**env, "REGATE_PASTELL_PAGE_SIZE": "beaucoup"})
    assert_operator_error(setting, "invalid setting REGATE_PASTELL_PAGE_SIZE", "'beaucoup'")
    secret = invoke(["normalize"], {**env, "REGATE_PASTELL_PASSWORD": None, "REGATE_HTTP_MAX_ATTEMPTS": "0"})
    assert_operator_error(secret, "invalid setting REGATE_HTTP_MAX_ATTEMPTS")


def test_missing_pastell_configuration(env: dict) -> None:
    no_url = invoke(["capture"], {**env, "REGATE_PASTELL_URL": None})
    assert_operator_error(no_url, "REGATE_PASTELL_URL is not set")
    anonymous = invoke(["capture"], {**env, "REGATE_PASTELL_USER": None, "REGATE_PASTELL_PASSWORD": None})
    assert_operator_error(anonymous, "no Pastell credentials", "REGATE_PASTELL_TOKEN", "REGATE_PASTELL_USER")


def test_unreachable_pastell(env: dict, raw_store: Any, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    result = invoke(["capture", "--report", str(report)], env)
    assert_operator_error(result, f"Pastell unreachable at {env['REGATE_PASTELL_URL']}", "REGATE_PASTELL_URL")
    saved = raw_store.get_json("_state/runs/capture/latest.json")  # the run report is still saved
    assert [e["reason"] for e in saved["errors"]] == ["injoignable"] and report.exists()


def test_missing_datagouv_key(env: dict) -> None:
    result = invoke(["publish"], {**env, "REGATE_DATAGOUV_API_KEY": None})
    assert_operator_error(result, "no data.gouv.fr API key", "REGATE_DATAGOUV_API_KEY")


def test_unreachable_datagouv(env: dict) -> None:
    result = invoke(["publish"], env)
    assert_operator_error(
        result, f"data.gouv.fr unreachable at {env['REGATE_DATAGOUV_URL']}", "REGATE_DATAGOUV_URL"
    )


def test_ingest_from_another_bucket(env: dict) -> None:
    result = invoke(["ingest", "s3://someone-else/inbox/Z1.zip"], env)
    assert_operator_error(result, "only the inbox of the raw bucket", "REGATE_RAW_BUCKET")


def test_port_already_in_use(env: dict) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = invoke(["serve", "--port", str(busy.getsockname()[1])], env)
    assert_operator_error(result, "address already in use", "--port")


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import regate.normalize.run

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disque plein\nligne 2")

    monkeypatch.setattr(regate.normalize.run, "run_normalize", boom)
    result = invoke(["normalize"], env)
    assert_operator_error(result, "unexpected RuntimeError: disque plein ligne 2", "--debug", code=1)
    debug = invoke(["--debug", "normalize"], env)
    assert isinstance(debug.exception, RuntimeError) and debug.exit_code == 1
    by_env = invoke(["normalize"], {**env, "REGATE_DEBUG": "1"})
    assert isinstance(by_env.exception, RuntimeError)


def test_debug_shows_the_original_error_of_an_operator_mistake(env: dict) -> None:
    from botocore.exceptions import EndpointConnectionError

    url = f"http://127.0.0.1:{_closed_port()}"
    result = invoke(["--debug", "normalize"], {**env, "REGATE_S3_ENDPOINT_URL": url})
    assert isinstance(result.exception, EndpointConnectionError)


def test_help_documents_exit_codes_and_debug() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--debug" in result.output and "2 nothing done" in result.output

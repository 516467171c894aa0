"""The local commands (`regate demo`, `regate serve`, `regate sim …`) without the local kit installed: a clear
message naming `make install`, exit code 2, no traceback; with it, the kit's implementation is called."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from regate.cli import kit
from regate.cli.main import app

COMMANDS = [
    ["demo", "--no-serve"],
    ["serve", "--port", "0"],
    ["sim", "pastell", "--port", "0"],
    ["sim", "datagouv", "--port", "0"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_without_the_kit_the_command_says_to_run_make_install(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kit, "entry_points", lambda **_: [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "needs the local kit" in result.output
    assert "make install" in result.output
    assert "Traceback" not in result.output


class _Broken:
    name = "serve"

    def load(self) -> Any:
        raise ModuleNotFoundError("No module named 'regate_local'")


def test_a_kit_that_cannot_be_imported_is_the_same_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kit, "entry_points", lambda **_: [_Broken()])
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2, result.output
    assert "make install" in result.output
    assert "regate_local" in result.output


def test_with_the_kit_its_implementation_gets_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    class _Found:
        def __init__(self, name: str) -> None:
            self.name = name

        def load(self) -> Any:
            return lambda **options: calls.append((self.name, options)) or 0

    monkeypatch.setattr(kit, "entry_points", lambda group, name: [_Found(name)] if group == kit.GROUP else [])
    runner = CliRunner()
    assert runner.invoke(app, ["serve", "--port", "8123", "--host", "127.0.0.2"]).exit_code == 0
    assert runner.invoke(app, ["sim", "datagouv", "--api-key", "k"]).exit_code == 0
    assert runner.invoke(app, ["demo", "--no-serve", "--port", "8124"]).exit_code == 0
    assert calls == [
        ("serve", {"host": "127.0.0.2", "port": 8123}),
        ("sim_datagouv", {"host": "127.0.0.1", "port": 8082, "api_key": "k", "state": None}),
        ("demo", {"serve": False, "host": "127.0.0.1", "port": 8124}),
    ]

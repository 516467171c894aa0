"""The commands whose body lives in the rehearsal kit (``regate_local``, installed by ``make install``).

``regate demo``, ``regate serve`` and ``regate sim …`` keep their names, options and help here, in the
product CLI; their implementation is found through the entry point group :data:`GROUP` declared in
``pyproject.toml``, so the product package never imports the kit (import contract, ``make lint``). Where
the kit is not installed (the Lambda layer, a bare ``pip install`` of the product), the command stops with
exit code 2 and says what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from regate.cli.errors import OperatorError

#: entry point group of the kit's command implementations (``name = module:callable``)
GROUP = "regate.cli"


def kit_command(name: str, command: str) -> Callable[..., Any]:
    """The kit's implementation ``name`` of ``regate {command}``, or an :class:`OperatorError` (exit 2)."""
    found = list(entry_points(group=GROUP, name=name))
    if not found:
        raise OperatorError(
            f"`regate {command}` needs the local kit (package regate_local), which is not installed",
            "run `make install` (it installs the local kit: simulators, local runtime, `regate serve`)",
        )
    try:
        return found[0].load()
    except ImportError as exc:
        raise OperatorError(
            f"`regate {command}` needs the local kit (package regate_local), which cannot be imported: {exc}",
            "run `make install` (it installs the local kit: simulators, local runtime, `regate serve`)",
        ) from exc

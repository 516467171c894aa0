"""Load the real Lambda handlers from ``functions/*/`` so the local runtime runs exactly that code."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from regate_local.runtime.events import LocalLambdaContext

#: function name → (folder under functions/, module file)
HANDLERS = {
    "capture": ("capture", "capture_handler"),
    "normalize": ("normalize", "normalize_handler"),
    "publish": ("publish", "publish_handler"),
    "api": ("api", "api_handler"),
    "admin": ("admin", "admin_handler"),
    "marches": ("marches", "marches_handler"),
}


def functions_dir() -> Path:
    """``functions/`` of this checkout (``REGATE_FUNCTIONS_DIR`` overrides it for unusual installs)."""
    override = os.environ.get("REGATE_FUNCTIONS_DIR")
    if override:
        return Path(override)
    import regate

    return Path(regate.__file__).resolve().parents[3] / "functions"


_loaded = itertools.count()


def load_handler_module(name: str) -> ModuleType:
    """A fresh instance of the handler module: like a new Lambda container, with its own warm caches."""
    folder, module = HANDLERS[name]
    module_name = f"regate_local_{module}_{next(_loaded)}"
    path = functions_dir() / folder / f"{module}.py"
    if not path.exists():
        raise FileNotFoundError(
            f"Handler {path} not found (set REGATE_FUNCTIONS_DIR to the functions/ folder)"
        )
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


class LocalFunction:
    """A Lambda function run in-process: ``invoke(event)`` calls ``handler(event, context)``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.module = load_handler_module(name)
        self.invocations = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        self.invocations += 1
        return self.module.handler(event, LocalLambdaContext(function_name=f"regate-{self.name}"))

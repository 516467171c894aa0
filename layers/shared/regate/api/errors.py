"""API errors carry an HTTP status and a French message meant for the person reading the response."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as JSON ``{"erreur": {"code", "message", "details"}}``."""

    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"code": self.status, "message": self.message}
        if self.details is not None:
            payload["details"] = self.details
        return {"erreur": payload}


def unknown_parameter(names: list[str], allowed: list[str]) -> ApiError:
    plural = "s" if len(names) > 1 else ""
    return ApiError(
        400,
        f"Paramètre{plural} inconnu{plural} : {', '.join(sorted(names))}. "
        f"Paramètres acceptés : {', '.join(allowed) or 'aucun'}.",
    )


def invalid_value(name: str, reason: str) -> ApiError:
    return ApiError(422, f"Valeur invalide pour « {name} » : {reason}", details={"parametre": name})


def not_found(message: str) -> ApiError:
    return ApiError(404, message)

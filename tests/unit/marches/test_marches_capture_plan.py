"""What a capture run asks for: calendar months, options checked before any call."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr, ValidationError

from regate.profil_acheteur.atexo import _TICKET, AtexoCredentials, ExportRequest
from regate.profil_acheteur.capture import MarchesCaptureOptions, month_windows
from regate.settings import Settings


def test_month_windows() -> None:
    assert month_windows(date(2024, 11, 20), date(2025, 2, 3)) == [
        (date(2024, 11, 1), date(2024, 11, 30)),
        (date(2024, 12, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 1, 31)),
        (date(2025, 2, 1), date(2025, 2, 28)),
    ]
    assert month_windows(date(2024, 2, 10), date(2024, 2, 10)) == [(date(2024, 2, 1), date(2024, 2, 29))]
    assert month_windows(date(2024, 3, 1), date(2024, 2, 1)) == []


def test_options_refuse_bad_sirens_and_platforms() -> None:
    with pytest.raises(ValueError, match="213502389"):
        MarchesCaptureOptions(plateforme="megalis", sirens=("213502388", "213502389"))
    with pytest.raises(ValueError):
        MarchesCaptureOptions(plateforme="../x", sirens=())


def test_options_from_settings() -> None:
    settings = Settings(
        atexo_sirens="213502388, 212900195", atexo_plateforme="megalis", marches_overlap_days=10
    )
    options = MarchesCaptureOptions.from_settings(settings, since=date(2024, 6, 1))
    assert options.sirens == ("213502388", "212900195") and options.overlap_days == 10
    assert options.default_since == date(2024, 1, 1) and options.since == date(2024, 6, 1)
    with pytest.raises(ValidationError):
        Settings(atexo_plateforme="a/b")


def test_export_request_body_uses_french_dates() -> None:
    request = ExportRequest(siren="213502388", date_min=date(2024, 5, 1), date_max=date(2024, 5, 31))
    assert request.body("T") == {
        "token": "T",
        "format": "json",
        "version": "v1",
        "siren": "213502388",
        "date_notif_min": "01-05-2024",
        "date_notif_max": "31-05-2024",
    }
    with pytest.raises(ValidationError):
        ExportRequest(siren="213502388", date_min=date(2024, 5, 2), date_max=date(2024, 5, 1))
    with pytest.raises(ValidationError):
        ExportRequest(siren="21350238", date_min=date(2024, 5, 1), date_max=date(2024, 5, 1))


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('<?xml version="1.0" encoding="UTF-8"?>\n<ticket>0d58bb9dc6267e915eabfa0e</ticket>\n', True),
        ("<ticket>abcdefgh</ticket>", True),
        ("<ticket>abc</ticket>", False),
        ("<ticket><![CDATA[x]]></ticket>", False),
        ('<!DOCTYPE x [<!ENTITY a "b">]><ticket>&a;&a;&a;&a;</ticket>', False),
        ("<html><body>Identifiant incorrect</body></html>", False),
        ("", False),
    ],
)
def test_ticket_parsing_is_strict(text: str, ok: bool) -> None:
    assert (_TICKET.match(text) is not None) is ok


def test_credentials_never_show_the_password() -> None:
    assert "Zx9-mdp" not in repr(AtexoCredentials("login", "Zx9-mdp"))
    assert "Zx9-mdp" not in repr(Settings(atexo_password=SecretStr("Zx9-mdp")))

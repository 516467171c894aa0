"""The mReport report ``marches`` (``GET /v1/mreport/marches?dataid={siren}``): rows built from query results.

Pure (rows in, mReport rows out), on the helpers of :mod:`regate.api.reports` (row shape, sorting, the cells
mReport would otherwise reformat as numbers). Dataviz ids (``marches_*``) are those of
``examples/mreport/marches/report.html``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import date
from typing import Any

from regate.api.reports import (
    entity_rows,
    file_rows,
    monthly_rows,
    mreport_row,
    mreport_text,
    ranked_rows,
    sort_rows,
)

_row = mreport_row

LATEST = 10


def entities(buyers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Without ``dataid``: one ``marches_title`` row per buyer (SIREN, name)."""
    return entity_rows(buyers, "marches_title")


def _euros(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f} €".replace(",", "\u202f")


def rows(
    siren: str,
    nom: str,
    *,
    months: list[dict[str, Any]],
    procedures: list[dict[str, Any]],
    cpv: list[dict[str, Any]],
    latest: list[dict[str, Any]],
    files: list[tuple[str, int]],
    base_url: str,
    today: date,
) -> list[dict[str, str]]:
    """Figures, monthly chart (previous and current calendar year, zero-filled), charts by procédure and CPV
    division, the latest contracts and the DECP files. ``months``/``procedures``/``cpv`` are
    ``/v1/marches/stats`` rows (``cle``, ``nombre``, ``montant_total``)."""
    out = [_row(siren, "marches_title", "1", 1, html.escape(nom), "")]
    total = sum(int(m["nombre"]) for m in months)
    amount = sum(float(m["montant_total"] or 0) for m in months)
    out.append(_row(siren, "marches_nb_total", "1", 1, "Contrats publiés", total))
    out.append(_row(siren, "marches_montant_total", "1", 1, "Montant initial total (€ HT)", round(amount)))
    out += monthly_rows(siren, "marches_par_mois", {str(m["cle"]): int(m["nombre"]) for m in months}, today)
    out += ranked_rows(siren, "marches_par_procedure", ((str(p["cle"]), p["nombre"]) for p in procedures))
    out += ranked_rows(
        siren,
        "marches_par_cpv",
        ((f"CPV {p['cle']}" if p["cle"] else "Sans code CPV", p["nombre"]) for p in cpv),
    )
    for order, contract in enumerate(latest[:LATEST], 1):
        when = contract.get("date_notification") or contract.get("date_signature")
        when_text = when.isoformat() if isinstance(when, date) else str(when or "")
        amount_text = _euros(
            contract.get("montant") if contract.get("montant") is not None else contract.get("valeur_globale")
        )
        out.append(_row(siren, "marches_derniers", "1", order, "Date", mreport_text(when_text)))
        out.append(_row(siren, "marches_derniers", "2", order, "Objet", mreport_text(contract.get("objet"))))
        out.append(
            _row(siren, "marches_derniers", "3", order, "Procédure", mreport_text(contract.get("procedure")))
        )
        out.append(_row(siren, "marches_derniers", "4", order, "Montant", mreport_text(amount_text)))
    links = [
        (int(annee), f"{base_url}/v1/marches/{siret}/{int(annee)}.json", f"{siret}-{int(annee)}.json")
        for siret, annee in files
    ]
    out += file_rows(siren, "marches_fichiers", links, "Fichier DECP")
    return sort_rows(out)

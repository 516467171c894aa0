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

from regate.api.reports import MOIS, _row, mreport_text, sort_rows

LATEST = 10


def entities(buyers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Without ``dataid``: one ``marches_title`` row per buyer (SIREN, name)."""
    return sort_rows(
        [_row(siren, "marches_title", "1", 1, html.escape(nom), "") for siren, nom in sorted(buyers)]
    )


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
    counts = {str(m["cle"]): int(m["nombre"]) for m in months}
    for year in (today.year - 1, today.year):
        for month in range(1, 13):
            label = MOIS[month - 1]
            out.append(
                _row(siren, "marches_par_mois", str(year), month, label, counts.get(f"{year}-{month:02d}", 0))
            )
    ranked = sorted(procedures, key=lambda p: (-int(p["nombre"]), str(p["cle"])))
    for order, item in enumerate(ranked, 1):
        out.append(
            _row(siren, "marches_par_procedure", "1", order, html.escape(str(item["cle"])), item["nombre"])
        )
    ranked = sorted(cpv, key=lambda p: (-int(p["nombre"]), str(p["cle"])))
    for order, item in enumerate(ranked, 1):
        label = f"CPV {item['cle']}" if item["cle"] else "Sans code CPV"
        out.append(_row(siren, "marches_par_cpv", "1", order, html.escape(label), item["nombre"]))
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
    for order, (siret, annee) in enumerate(sorted(files, key=lambda f: (-f[1], f[0])), 1):
        link = f"{base_url}/v1/marches/{siret}/{int(annee)}.json"
        out.append(_row(siren, "marches_fichiers", "1", order, "Année", mreport_text(str(annee))))
        out.append(
            _row(
                siren,
                "marches_fichiers",
                "2",
                order,
                "Fichier DECP",
                f'<a href="{html.escape(link)}">{siret}-{int(annee)}.json</a>',
            )
        )
    return sort_rows(out)

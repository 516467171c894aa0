"""The mReport report ``budgets`` (``GET /v1/mreport/budgets?dataid={siren}``): rows built from a synthesis.

Pure (a :class:`regate.flux.budgets.api.Synthese` in, mReport rows out), on the shared helpers of
:mod:`regate.api.reports`. The report shows the collectivité's latest exercice at its most advanced stage
(CFU/CA when voted, else the DM, BS or BP), with the stage's amount (BP → MtPrev, DM → MtPropNouv,
CA/CFU → MtReal: never the realised amount of a budget primitif, the reference white label's bug).
Dataviz ids (``budgets_*``) are those of ``examples/mreport/budgets/report.html``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from regate.api.reports import entity_rows, file_rows, mreport_row, mreport_text, ranked_rows, sort_rows

TOP_CHAPITRES = 12


def entities(collectivites: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Without ``dataid``: one ``budgets_title`` row per collectivité (SIREN, name)."""
    return entity_rows(collectivites, "budgets_title")


def _euros(value: float) -> str:
    return f"{value:,.0f} €".replace(",", "\u202f")


def rows(siren: str, nom: str, synthese: Any, files: list[tuple[int, str]]) -> list[dict[str, str]]:
    """Title, the stage shown, totals, dépenses and recettes by chapter, sections, top dépenses, files."""
    out = [mreport_row(siren, "budgets_title", "1", 1, mreport_text(nom), "")]
    if synthese.etapes:
        etape = synthese.etapes[-1]  # the most advanced stage of the exercice
        out.append(
            mreport_row(
                siren,
                "budgets_etape",
                "1",
                1,
                "Document présenté",
                mreport_text(f"{etape.natdec} {synthese.annee}"),
            )
        )
        recettes = sum(s.recettes for s in etape.sections)
        depenses = sum(s.depenses for s in etape.sections)
        out.append(mreport_row(siren, "budgets_total_depenses", "1", 1, "Dépenses (€)", round(depenses)))
        out.append(mreport_row(siren, "budgets_total_recettes", "1", 1, "Recettes (€)", round(recettes)))
        for name, postes in (
            ("budgets_depenses_chapitre", etape.depenses_par_chapitre),
            ("budgets_recettes_chapitre", etape.recettes_par_chapitre),
        ):
            items = [(p.libelle or p.code, round(p.montant)) for p in postes if p.montant][:TOP_CHAPITRES]
            out += ranked_rows(siren, name, items)
        for order, section in enumerate(etape.sections, 1):
            label = section.section.capitalize()
            out.append(mreport_row(siren, "budgets_sections", "1", order, label, round(section.recettes)))
            out.append(mreport_row(siren, "budgets_sections", "2", order, label, round(section.depenses)))
        for order, poste in enumerate(etape.top_depenses, 1):
            out.append(
                mreport_row(siren, "budgets_top_depenses", "1", order, "Compte", mreport_text(poste.code))
            )
            out.append(
                mreport_row(siren, "budgets_top_depenses", "2", order, "Libellé", mreport_text(poste.libelle))
            )
            out.append(
                mreport_row(
                    siren, "budgets_top_depenses", "3", order, "Montant", mreport_text(_euros(poste.montant))
                )
            )
    links = [(annee, url, f"{siren}-{annee}.csv") for annee, url in files]
    out += file_rows(siren, "budgets_fichiers", links, "Fichier SCDL")
    return sort_rows(out)

"""Views built from query results: collectivités, the GeoJSON map layer and mReport rows.

Pure functions (rows in, JSON-ready values out) so they are tested without S3 or DuckDB.
Property names of the GeoJSON follow the reference maps (``deliberation_publie`` OUI/NON,
``nb_delib_publie``, ``url_actes``…, reuse-formats §3) so existing mViewer styles and templates apply.
"""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from regate.actes.nomenclature import NIVEAU1
from regate.api.collectivites import CollectiviteDirectoryLike, describe
from regate.storage import layout

MOIS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
#: Reference-map act counters by ACTES nature.
NATURE_COUNTERS = {
    1: "nb_acte_deliberation",
    2: "nb_acte_reg",
    3: "nb_acte_indiv",
    4: "nb_acte_contrat_conv",
    5: "nb_acte_budg_fin",
    6: "nb_acte_autre",
    7: "nb_acte_autre",
}
MREPORT_COLUMNS = ("dataid", "dataviz", "dataset", "order", "label", "data")


def api_url(base_url: str, path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base_url}{path}" + (f"?{query}" if query else "")


def scdl_url(base_url: str, siren: str, annee: int) -> str:
    return f"{base_url}/v1/deliberations/{siren}/{int(annee)}.csv"


# ---------------------------------------------------------------------------------- collectivités
def collectivites(
    summary: Iterable[dict[str, Any]],
    directory: CollectiviteDirectoryLike,
    base_url: str,
    dep: str | None = None,
) -> list[dict[str, Any]]:
    """One entry per collectivité present in the public dataset (ordered by SIREN)."""
    by_siren: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        by_siren[row["siren"]].append(row)
    result = []
    for siren in sorted(by_siren):
        rows = by_siren[siren]
        latest = max(rows, key=lambda r: r["derniere"])
        info = describe(directory, siren, latest["nom"])
        if dep is not None and info["departement"] != dep:
            continue
        annees: dict[str, dict[str, int]] = {}
        for row in sorted(rows, key=lambda r: r["annee"]):
            counts = annees.setdefault(str(row["annee"]), {"deliberations": 0, "actes": 0})
            counts["actes"] += int(row["nombre"])
            if row["nature"] == 1:
                counts["deliberations"] += int(row["nombre"])
        delib_dates = [r["derniere"] for r in rows if r["nature"] == 1]
        point = info.pop("point")
        result.append(
            {
                **info,
                "siret": info["siret"] or latest["siret"],
                "lon": point[0] if point else None,
                "lat": point[1] if point else None,
                "annees": annees,
                "derniere_deliberation": max(delib_dates).isoformat() if delib_dates else None,
                "urls": {
                    "deliberations": api_url(base_url, "/v1/deliberations", siren=siren),
                    "scdl": {
                        a: scdl_url(base_url, siren, int(a)) for a, c in annees.items() if c["deliberations"]
                    },
                    "mreport": api_url(base_url, "/v1/mreport/deliberations", dataid=siren),
                    "geojson": api_url(base_url, "/v1/collectivites.geojson", siren=siren),
                },
            }
        )
    return result


# ------------------------------------------------------------------------------------- GeoJSON
def feature_collection(
    summary: Iterable[dict[str, Any]],
    latest: Iterable[dict[str, Any]],
    directory: CollectiviteDirectoryLike,
    base_url: str,
    dep: str | None = None,
) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: one point per collectivité and year (EPSG:4326, ``[lon, lat]``).

    Collectivités without known coordinates are left out (a feature without geometry is useless to
    mViewer); ``/v1/collectivites`` still lists them.
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        groups[(row["siren"], int(row["annee"]))].append(row)
    recent: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in latest:
        recent[(row["siren"], int(row["annee"]))].append(row)
    infos: dict[str, dict[str, Any]] = {}
    features = []
    for siren, annee in sorted(groups):
        rows = groups[(siren, annee)]
        if siren not in infos:
            infos[siren] = describe(directory, siren, max(rows, key=lambda r: r["derniere"])["nom"])
        info = infos[siren]
        if info["point"] is None or (dep is not None and info["departement"] != dep):
            continue
        counters = dict.fromkeys(dict.fromkeys(NATURE_COUNTERS.values()), 0)
        for row in rows:
            counters[NATURE_COUNTERS.get(int(row["nature"]), "nb_acte_autre")] += int(row["nombre"])
        nb_delib = counters["nb_acte_deliberation"]
        properties = {
            "siren": siren,
            "code_insee": info["code_insee"],
            "nom": info["nom"],
            "organisme": info["nom"],
            "level": info["level"],
            "annee": str(annee),
            "siren_epci": info["epci_siren"],
            "nom_epci": info["epci_nom"],
            "opendata_publie": "OUI" if sum(counters.values()) else "NON",
            "deliberation_publie": "OUI" if nb_delib else "NON",
            "nb_delib_publie": nb_delib,
            "nb_actes": sum(int(r["nombre"]) for r in rows),
            **counters,
            "url_actes": api_url(base_url, "/v1/deliberations", siren=siren, annee=annee),
            "url_scdl": scdl_url(base_url, siren, annee) if nb_delib else None,
            "url_mreport": api_url(base_url, "/v1/mreport/deliberations", dataid=siren),
            "deliberations": [
                {
                    "date": r["delib_date"],
                    "objet": r["delib_objet"],
                    "matiere": r["delib_matiere_code"],
                    "url": r["delib_url"],
                }
                for r in recent.get((siren, annee), [])
            ],
        }
        features.append(
            {
                "type": "Feature",
                "id": f"{siren}-{annee}",
                "geometry": {"type": "Point", "coordinates": [info["point"][0], info["point"][1]]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


# -------------------------------------------------------------------------------------- mReport
def _row(dataid: str, dataviz: str, dataset: str, order: int, label: str, data: Any) -> dict[str, str]:
    return {
        "dataid": dataid,
        "dataviz": dataviz,
        "dataset": dataset,
        "order": str(order),
        "label": label,
        "data": "" if data is None else str(data),
    }


def _dataset_key(name: str) -> tuple[int, int, str]:
    # mReport iterates datasets in JS key order: integer-like names first (numeric), then the others.
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def sort_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Pre-sorted by (dataviz, dataset, order) as mReport expects (it does not sort)."""
    return sorted(rows, key=lambda r: (r["dataviz"], _dataset_key(r["dataset"]), int(r["order"])))


def mreport_entities(sirens_and_names: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Without ``dataid``: one ``delib_title`` row per collectivité (mReport lists the distinct ids)."""
    return sort_rows([_row(s, "delib_title", "1", 1, n, "") for s, n in sirens_and_names])


def mreport_deliberations(
    siren: str,
    nom: str,
    summary: list[dict[str, Any]],
    months: list[dict[str, Any]],
    matieres: list[dict[str, Any]],
    latest: list[dict[str, Any]],
    point: tuple[float, float] | None,
    base_url: str,
) -> list[dict[str, str]]:
    """Rows of the ``deliberations`` report: figures, monthly chart, by-matière chart, latest acts."""
    rows = [_row(siren, "delib_title", "1", 1, nom, "")]
    delib = [r for r in summary if r["nature"] == 1]
    years = sorted({int(r["annee"]) for r in delib})
    if years:
        last = years[-1]
        rows.append(
            _row(
                siren,
                "delib_nb_annee",
                "1",
                1,
                f"Délibérations publiées en {last}",
                sum(int(r["nombre"]) for r in delib if r["annee"] == last),
            )
        )
        rows.append(
            _row(
                siren,
                "delib_nb_total",
                "1",
                1,
                "Délibérations publiées au total",
                sum(int(r["nombre"]) for r in delib),
            )
        )
        rows.append(
            _row(
                siren,
                "delib_derniere_date",
                "1",
                1,
                "Dernière délibération",
                max(r["derniere"] for r in delib).isoformat(),
            )
        )
        counts = {str(m["cle"]): int(m["nombre"]) for m in months}
        for year in years[-2:]:
            for month in range(1, 13):
                rows.append(
                    _row(
                        siren,
                        "delib_par_mois",
                        str(year),
                        month,
                        MOIS[month - 1],
                        counts.get(f"{year}-{month:02d}", 0),
                    )
                )
        for order, item in enumerate(sorted(matieres, key=lambda m: (-int(m["nombre"]), str(m["cle"]))), 1):
            label = NIVEAU1.get(str(item["cle"]), "Non classé")
            rows.append(_row(siren, "delib_par_matiere", "1", order, label, item["nombre"]))
        for order, act in enumerate(latest, 1):
            objet = html.escape(act["delib_objet"] or "")
            if act.get("delib_url"):
                objet = (
                    f'<a href="{html.escape(act["delib_url"])}" target="_blank" rel="noopener">{objet}</a>'
                )
            rows.append(_row(siren, "delib_dernieres", "1", order, "Date", act["delib_date"]))
            rows.append(_row(siren, "delib_dernieres", "2", order, "Objet", objet))
            rows.append(
                _row(siren, "delib_dernieres", "3", order, "Matière", act["delib_matiere_code"] or "")
            )
        for order, year in enumerate(reversed(years), 1):
            link = scdl_url(base_url, siren, year)
            rows.append(_row(siren, "delib_fichiers", "1", order, "Année", year))
            rows.append(
                _row(
                    siren,
                    "delib_fichiers",
                    "2",
                    order,
                    "Fichier SCDL",
                    f'<a href="{html.escape(link)}">{siren}-{year}.csv</a>',
                )
            )
    if point is not None:
        rows.append(_row(siren, "delib_carte", "mairie", 1, nom, f"POINT({point[0]} {point[1]})"))
    return sort_rows(rows)


def mreport_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MREPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def catalog_keys() -> dict[str, tuple[str, str]]:
    """Route suffix → (curated key, content type) of the catalogue files written by the publisher."""
    return {
        "jsonld": (layout.CATALOG_JSONLD_KEY, "application/ld+json"),
        "csv": (layout.CATALOG_CSV_KEY, "text/csv; charset=utf-8"),
    }

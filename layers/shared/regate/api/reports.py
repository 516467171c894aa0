"""Views built from query results: collectivités, the GeoJSON map layer and mReport rows.

Pure functions (rows in, JSON-ready values out) so they are tested without S3 or DuckDB.
Property names of the GeoJSON follow the reference maps (``deliberation_publie`` OUI/NON,
``nb_delib_publie``, ``url_actes``…, reuse-formats §3) so existing mViewer styles and templates apply.
The mReport rows follow what mReport's ``report.js`` really does with them (grouping order, number
formatting, HTML insertion), see :func:`mreport_reformats`.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
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


def page_url(base_url: str, siren: str) -> str:
    """The human-readable page of a collectivité (``REGATE_PUBLIC_BASE_URL`` root): the one place to change.

    The white-label search page (``/v1/marque-blanche?siren=…``) does not exist yet; until it does, the
    best page for a person the API serves is its documentation, at the section telling how to list and
    download the collectivité's délibérations. The JSON twin is :func:`api_url` on ``/v1/deliberations``.
    """
    return f"{base_url}/v1/docs#deliberations"


# ------------------------------------------------------------------------------ shared points
#: Who keeps a shared point: the commune stays on its town hall, the others move around it.
LEVEL_RANK = {"Commune": 0, "Intercommunalité": 1, "Département": 2, "Région": 3, "Autres": 4}
RING_SLOTS = 8
METERS_PER_DEGREE = 111_320.0


def spread_shared_points(
    points: Sequence[tuple[float, float, str, str]], offset_m: float
) -> list[tuple[float, float, int]]:
    """``(lon, lat, level, siren)`` → ``(lon, lat, moved_m)``: one visible point per collectivité.

    Points equal to about a metre (5 decimals) form a group — typically a commune and its EPCI, or a
    syndicat, seated in the same town hall. In each group the first by (level, SIREN) keeps the point;
    the others go on rings around it, 8 per ring, ring *k* at ``k × offset_m`` metres, the first slot due
    north then clockwise every 45° (rings turned by 22.5°). Deterministic: same input, same output.
    """
    groups: dict[tuple[float, float], list[int]] = defaultdict(list)
    for index, (lon, lat, _, _) in enumerate(points):
        groups[(round(lon, 5), round(lat, 5))].append(index)
    out = [(lon, lat, 0) for lon, lat, _, _ in points]
    if offset_m <= 0:
        return out
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (LEVEL_RANK.get(points[i][2], len(LEVEL_RANK)), points[i][3]))
        lon0, lat0 = points[members[0]][0], points[members[0]][1]
        for slot, index in enumerate(members[1:]):
            ring, position = divmod(slot, RING_SLOTS)
            distance = offset_m * (ring + 1)
            angle = math.radians(position * 360 / RING_SLOTS + ring * 180 / RING_SLOTS)
            dlat = distance * math.cos(angle) / METERS_PER_DEGREE
            dlon = distance * math.sin(angle) / (METERS_PER_DEGREE * max(math.cos(math.radians(lat0)), 0.01))
            out[index] = (round(lon0 + dlon, 6), round(lat0 + dlat, 6), round(distance))
    return out


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
                    "page": page_url(base_url, siren),
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
    offset_m: float = 0.0,
) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: one point per collectivité and year (EPSG:4326, ``[lon, lat]``).

    Collectivités without known coordinates are left out (a feature without geometry is useless to
    mViewer); ``/v1/collectivites`` still lists them. Collectivités of one year sharing a point are
    spread ``offset_m`` apart (:func:`spread_shared_points`); ``decalage_m`` says by how much each moved.
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        groups[(row["siren"], int(row["annee"]))].append(row)
    recent: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in latest:
        recent[(row["siren"], int(row["annee"]))].append(row)
    infos: dict[str, dict[str, Any]] = {}
    features: list[dict[str, Any]] = []
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
            "url_page": page_url(base_url, siren),
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
    by_year: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for feature in features:
        by_year[feature["properties"]["annee"]].append(feature)
    for same_year in by_year.values():
        spread = spread_shared_points(
            [
                (*f["geometry"]["coordinates"], f["properties"]["level"], f["properties"]["siren"])
                for f in same_year
            ],
            offset_m,
        )
        for feature, (lon, lat, moved) in zip(same_year, spread, strict=True):
            feature["geometry"]["coordinates"] = [lon, lat]
            feature["properties"]["decalage_m"] = moved
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


mreport_row = _row  # the one row builder of every report (délibérations, marchés, budgets)


def entity_rows(ids_and_names: Iterable[tuple[str, str]], dataviz: str) -> list[dict[str, str]]:
    """Without ``dataid``: one ``{dataviz}`` title row per entity (mReport lists the distinct ids); the name
    is inserted as HTML, so it is escaped."""
    return sort_rows([_row(i, dataviz, "1", 1, html.escape(n), "") for i, n in sorted(ids_and_names)])


def monthly_rows(dataid: str, dataviz: str, counts: dict[str, Any], today: date) -> list[dict[str, str]]:
    """A monthly chart: the previous and the current calendar year (``today``, Europe/Paris), both always
    present and zero-filled, in that order; ``counts`` is keyed ``YYYY-MM``."""
    return [
        _row(dataid, dataviz, str(year), month, MOIS[month - 1], counts.get(f"{year}-{month:02d}", 0))
        for year in (today.year - 1, today.year)
        for month in range(1, 13)
    ]


def ranked_rows(
    dataid: str, dataviz: str, items: Iterable[tuple[str, Any]], dataset: str = "1"
) -> list[dict[str, str]]:
    """A chart ranked by value (largest first, then label): ``items`` are ``(label, value)``, labels
    escaped (mReport inserts them as HTML)."""
    ranked = sorted(items, key=lambda item: (-float(item[1] or 0), str(item[0])))
    return [
        _row(dataid, dataviz, dataset, order, html.escape(str(label)), value)
        for order, (label, value) in enumerate(ranked, 1)
    ]


def file_rows(
    dataid: str, dataviz: str, files: Iterable[tuple[int, str, str]], label: str
) -> list[dict[str, str]]:
    """A table of published files, newest year first: ``files`` are ``(année, url, link text)``."""
    out: list[dict[str, str]] = []
    for order, (annee, url, text) in enumerate(sorted(files, key=lambda f: (-int(f[0]), f[2])), 1):
        out.append(_row(dataid, dataviz, "1", order, "Année", mreport_text(str(int(annee)))))
        out.append(
            _row(dataid, dataviz, "2", order, label, f'<a href="{html.escape(url)}">{html.escape(text)}</a>')
        )
    return out


# What JavaScript's ``Number()`` accepts from a string once trimmed (ECMA-262 StringToNumber): decimal
# literals (sign, exponent, ``Infinity``) and unsigned hex/octal/binary integers.
_JS_NUMBER_RE = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+"
)
# What ``Number()`` trims: WhiteSpace (incl. every Zs space and the BOM) and LineTerminator.
_JS_SPACES = "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def mreport_reformats(value: str) -> bool:
    """True when mReport would rewrite ``value`` as a French number in a figure or a table cell.

    mReport's ``_format`` (``report.js``) turns the first ``,`` into ``.`` and, when ``isNaN`` says the
    result is a number, prints it with a space every three digits and a decimal comma: a matière code
    ``5.3`` becomes ``5,3``, a year ``2025`` becomes ``2 025`` and an empty cell becomes ``0``.
    """
    text = value.replace(",", ".", 1).strip(_JS_SPACES)
    return text == "" or _JS_NUMBER_RE.fullmatch(text) is not None


def mreport_text(value: str | None) -> str:
    """A table cell that mReport shows exactly as ``value``: HTML-escaped (cells are inserted as HTML),
    and wrapped in a ``<span>`` when mReport would take it for a number — ``isNaN("<span>2025</span>")``
    is true, so mReport leaves it alone, and the browser renders the bare text."""
    escaped = html.escape(value or "")
    return f"<span>{escaped}</span>" if mreport_reformats(escaped) else escaped


def _dataset_key(name: str) -> tuple[int, int, str]:
    # mReport iterates datasets in JS key order: integer-like names first (numeric), then the others.
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def sort_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Pre-sorted by (dataviz, dataset, order) as mReport expects (it does not sort)."""
    return sorted(rows, key=lambda r: (r["dataviz"], _dataset_key(r["dataset"]), int(r["order"])))


def mreport_entities(sirens_and_names: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Without ``dataid``: one ``delib_title`` row per collectivité (mReport lists the distinct ids)."""
    return sort_rows([_row(s, "delib_title", "1", 1, n, "") for s, n in sirens_and_names])


def mreport_version(version: str, today: date) -> str:
    """Data version of a report: the rows also depend on the calendar year (monthly chart)."""
    return f"{version}:{today.year}"


def _newest_first(acts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        acts, key=lambda a: (str(a.get("delib_date") or ""), str(a.get("acte_id") or "")), reverse=True
    )


def mreport_deliberations(
    siren: str,
    nom: str,
    summary: list[dict[str, Any]],
    months: list[dict[str, Any]],
    matieres: list[dict[str, Any]],
    latest: list[dict[str, Any]],
    point: tuple[float, float] | None,
    base_url: str,
    *,
    today: date,
) -> list[dict[str, str]]:
    """Rows of the ``deliberations`` report: figures, monthly chart, by-matière chart, latest acts.

    ``today`` (Europe/Paris) fixes the two years of the monthly chart: the previous and the current
    calendar year, both always present and zero-filled, in that order (the report's legend says
    "Année précédente, Année en cours"; a single dataset would be drawn under the wrong legend).
    """
    rows = [_row(siren, "delib_title", "1", 1, nom, "")]
    delib = [r for r in summary if r["nature"] == 1]
    years = sorted({int(r["annee"]) for r in delib})
    rows += monthly_rows(siren, "delib_par_mois", {str(m["cle"]): int(m["nombre"]) for m in months}, today)
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
        for order, item in enumerate(sorted(matieres, key=lambda m: (-int(m["nombre"]), str(m["cle"]))), 1):
            label = NIVEAU1.get(str(item["cle"]), "Non classé")
            rows.append(_row(siren, "delib_par_matiere", "1", order, label, item["nombre"]))
        for order, act in enumerate(_newest_first(latest), 1):
            objet = mreport_text(act["delib_objet"])
            if act.get("delib_url"):
                objet = (
                    f'<a href="{html.escape(act["delib_url"])}" target="_blank" rel="noopener">{objet}</a>'
                )
            rows.append(_row(siren, "delib_dernieres", "1", order, "Date", mreport_text(act["delib_date"])))
            rows.append(_row(siren, "delib_dernieres", "2", order, "Objet", objet))
            rows.append(
                _row(siren, "delib_dernieres", "3", order, "Matière", mreport_text(act["delib_matiere_code"]))
            )
        files = [(year, scdl_url(base_url, siren, year), f"{siren}-{year}.csv") for year in years]
        rows += file_rows(siren, "delib_fichiers", files, "Fichier SCDL")
    if point is not None:
        # the marker popup is HTML (Leaflet bindPopup): the name is escaped
        rows.append(
            _row(siren, "delib_carte", "mairie", 1, html.escape(nom), f"POINT({point[0]} {point[1]})")
        )
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

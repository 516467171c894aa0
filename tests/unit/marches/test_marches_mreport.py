"""The ``marches`` mReport rows (pure): shape, order, zero-filled months, escaping and number protection."""

from __future__ import annotations

from datetime import date

from regate.api.reports import MREPORT_COLUMNS, sort_rows
from regate.flux.marches import report

TODAY = date(2025, 3, 4)


def _rows(**changes):
    args = {
        "months": [
            {"cle": "2024-11", "nombre": 2, "montant_total": 1000.0},
            {"cle": "2025-01", "nombre": 1, "montant_total": None},
        ],
        "procedures": [
            {"cle": "Procédure adaptée", "nombre": 1},
            {"cle": "Appel d'offres ouvert", "nombre": 2},
        ],
        "cpv": [{"cle": "", "nombre": 1}, {"cle": "45", "nombre": 2}],
        "latest": [
            {
                "date_notification": date(2025, 1, 5),
                "objet": "<script>x</script> 2025",
                "procedure": "Procédure adaptée",
                "montant": 12500.0,
            },
            {
                "date_notification": None,
                "date_signature": date(2024, 11, 2),
                "objet": "1234",
                "valeur_globale": 9.5,
            },
        ],
        "files": [("21350238800019", 2024), ("21350238800019", 2025)],
        "base_url": "https://api.example.org",
        "today": TODAY,
    }
    args.update(changes)
    return report.rows("213502388", "Ville de <Rennes>", **args)


def test_rows_are_strings_sorted_and_complete() -> None:
    rows = _rows()
    assert rows == sort_rows(rows)
    assert all(set(r) == set(MREPORT_COLUMNS) and all(isinstance(v, str) for v in r.values()) for r in rows)
    by = {}
    for row in rows:
        by.setdefault(row["dataviz"], []).append(row)
    assert by["marches_nb_total"][0]["data"] == "3"
    assert by["marches_montant_total"][0]["data"] == "1000"
    months = by["marches_par_mois"]
    assert [r["dataset"] for r in months] == ["2024"] * 12 + ["2025"] * 12
    assert {(r["dataset"], r["order"]): r["data"] for r in months}[("2024", "11")] == "2"
    assert [r["label"] for r in by["marches_par_procedure"]] == [
        "Appel d&#x27;offres ouvert",
        "Procédure adaptée",
    ]
    assert [r["label"] for r in by["marches_par_cpv"]] == ["CPV 45", "Sans code CPV"]
    files = [r["data"] for r in by["marches_fichiers"] if r["dataset"] == "2"]
    assert files[0].endswith('/v1/marches/21350238800019/2025.json">21350238800019-2025.json</a>')


def test_cells_are_escaped_and_protected_from_number_reformatting() -> None:
    latest = {(r["dataset"], r["order"]): r["data"] for r in _rows() if r["dataviz"] == "marches_derniers"}
    assert latest[("2", "1")] == "&lt;script&gt;x&lt;/script&gt; 2025"
    assert latest[("2", "2")] == "<span>1234</span>"  # mReport would print 1 234
    assert latest[("1", "1")] == "2025-01-05" and latest[("1", "2")] == "2024-11-02"
    assert latest[("4", "1")] == "12\u202f500 €" and latest[("4", "2")] == "10 €"
    assert all("<Rennes>" not in r["label"] for r in _rows())
    [title] = [r for r in _rows() if r["dataviz"] == "marches_title"]
    assert title["label"] == "Ville de &lt;Rennes&gt;"


def test_no_contract_means_only_figures_at_zero() -> None:
    rows = _rows(months=[], procedures=[], cpv=[], latest=[], files=[])
    assert {r["dataviz"] for r in rows} == {
        "marches_title",
        "marches_nb_total",
        "marches_montant_total",
        "marches_par_mois",
    }


def test_entities_one_title_per_buyer() -> None:
    rows = report.entities([("243500139", "Rennes Métropole"), ("213502388", "Rennes")])
    assert [r["dataid"] for r in rows] == ["213502388", "243500139"]

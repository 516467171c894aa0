"""Document listing (§7): strict bounds, comma lastetat, duplicates, notEtatTransit, paging, sorting."""

from __future__ import annotations

from pastell_sim_helpers import DOC_A, DOC_B, DOC_C, DOC_D, DOC_E, DOC_F, call

LIST = "/api/v2/entite/5/document"
STUDIO = {"type": "deliberations-studio"}


def ids(answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [row["id_d"] for row in answer.json]


def test_etat_transit_returns_one_row_per_entry_into_the_state(small_sim):
    rows = ids(call(small_sim, LIST, {**STUDIO, "etatTransit": "acquiter-tdt", "sens_tri": "ASC"}))
    assert sorted(rows) == sorted([DOC_A, DOC_B, DOC_B, DOC_D])
    assert DOC_E not in rows  # another entity's act never leaks into this entity's list


def test_state_begin_is_strict_and_date_only_means_midnight(small_sim):
    # DOC_B entered acquiter-tdt at exactly 2024-02-01 00:00:00: excluded by a strict '>'.
    rows = ids(call(small_sim, LIST, {**STUDIO, "etatTransit": "acquiter-tdt", "state_begin": "2024-02-01"}))
    assert rows == [DOC_B]  # only its second acknowledgement (2024-02-02 08:00:00)
    rows = ids(
        call(small_sim, LIST, {**STUDIO, "etatTransit": "acquiter-tdt", "state_begin": "2024-01-31 23:59:59"})
    )
    assert rows == [DOC_B, DOC_B]


def test_state_end_date_only_excludes_the_whole_day(small_sim):
    # DOC_D entered acquiter-tdt on 2024-01-31 at 23:59:59: state_end=2024-01-31 excludes it.
    rows = ids(call(small_sim, LIST, {**STUDIO, "etatTransit": "acquiter-tdt", "state_end": "2024-01-31"}))
    assert rows == [DOC_A]
    rows = ids(
        call(
            small_sim,
            LIST,
            {
                **STUDIO,
                "etatTransit": "acquiter-tdt",
                "state_begin": "2024-01-31 23:59:58",
                "state_end": "2024-02-01 00:00:01",
                "sens_tri": "ASC",
            },
        )
    )
    assert sorted(rows) == sorted([DOC_B, DOC_D])


def test_state_bounds_are_ignored_without_etat_transit(small_sim):
    rows = ids(call(small_sim, LIST, {**STUDIO, "state_begin": "2030-01-01"}))
    assert len(rows) == 4


def test_lastetat_accepts_a_comma_list(small_sim):
    assert sorted(ids(call(small_sim, LIST, {**STUDIO, "lastetat": "acquiter-tdt,termine"}))) == sorted(
        [DOC_A, DOC_B]
    )
    assert ids(call(small_sim, LIST, {**STUDIO, "lastetat": "acquiter-tdt"})) == [DOC_B]
    assert ids(call(small_sim, LIST, {**STUDIO, "lastetat": "modification"})) == [DOC_C]


def test_last_state_bounds_are_strict(small_sim):
    # DOC_B's last action is at 2024-02-02 08:00:00.
    assert DOC_B not in ids(call(small_sim, LIST, {**STUDIO, "last_state_begin": "2024-02-02 08:00:00"}))
    assert DOC_B in ids(call(small_sim, LIST, {**STUDIO, "last_state_begin": "2024-02-02 07:59:59"}))
    assert DOC_B not in ids(call(small_sim, LIST, {**STUDIO, "last_state_end": "2024-02-02 08:00:00"}))
    assert DOC_B in ids(call(small_sim, LIST, {**STUDIO, "last_state_end": "2024-02-02 08:00:01"}))


def test_not_etat_transit_excludes_documents_that_ever_had_the_action(small_sim):
    rows = ids(
        call(small_sim, LIST, {**STUDIO, "etatTransit": "acquiter-tdt", "notEtatTransit": "annuler-tdt"})
    )
    assert DOC_D not in rows and DOC_A in rows


def test_without_type_every_readable_flux_of_the_entity(small_sim):
    rows = ids(call(small_sim, LIST))
    assert sorted(rows) == sorted([DOC_A, DOC_B, DOC_C, DOC_D, DOC_F])


def test_default_limit_is_100_and_there_is_no_maximum(small_sim):
    for i in range(120):
        small_sim.add_document(
            "5", "ls-actes", {"objet": f"Acte {i}"}, history=[("creation", "2024-03-01 10:00:00")]
        )
    assert len(ids(call(small_sim, LIST, {"type": "ls-actes"}))) == 100
    assert len(ids(call(small_sim, LIST, {"type": "ls-actes", "limit": "500"}))) == 120
    assert len(ids(call(small_sim, LIST, {"type": "ls-actes", "offset": "100"}))) == 20


def test_paging_walks_every_row_exactly_once(small_sim):
    seen: list[str] = []
    offset = 0
    while True:
        page = ids(call(small_sim, LIST, {**STUDIO, "limit": "2", "offset": str(offset), "sens_tri": "ASC"}))
        seen += page
        if len(page) < 2:
            break
        offset += 2
    assert sorted(seen) == sorted([DOC_A, DOC_B, DOC_C, DOC_D])


def test_sort_by_last_action_date_and_direction(small_sim):
    asc = ids(call(small_sim, LIST, {**STUDIO, "sens_tri": "ASC"}))
    assert asc == [DOC_A, DOC_C, DOC_B, DOC_D]
    assert ids(call(small_sim, LIST, {**STUDIO, "sens_tri": "n'importe"})) == list(reversed(asc))  # → DESC


def test_sort_by_title(small_sim):
    rows = call(small_sim, LIST, {**STUDIO, "tri": "titre", "sens_tri": "ASC"}).json
    assert [r["titre"] for r in rows] == sorted(r["titre"] for r in rows)


def test_search_is_like_case_and_accent_insensitive(small_sim):
    assert ids(call(small_sim, LIST, {**STUDIO, "search": "CANTINE"})) == [DOC_A]
    assert ids(call(small_sim, LIST, {**STUDIO, "search": "election"})) == [DOC_B]
    assert ids(call(small_sim, LIST, {**STUDIO, "search": "tarifs%scolaire"})) == [DOC_A]


def test_indexed_field_filters_need_type(small_sim):
    assert ids(call(small_sim, LIST, {"type": "actes-generique", "numero_de_lacte": "2024_007"})) == [DOC_F]
    assert ids(call(small_sim, LIST, {"type": "actes-generique", "numero_de_lacte": "XYZ"})) == []
    # Without `type`, indexed fields are not filters (silently ignored).
    assert len(ids(call(small_sim, LIST, {"numero_de_lacte": "XYZ"}))) == 5


def test_nonexistent_parameters_are_ignored(small_sim):
    assert (
        len(ids(call(small_sim, LIST, {**STUDIO, "last_action": "termine", "date_in_state": "2030-01-01"})))
        == 4
    )


def test_rows_are_strings_with_boolean_is_active(small_sim):
    row = call(small_sim, LIST, {**STUDIO, "search": "cantine"}).json[0]
    assert row["is_active"] is True
    for key, value in row.items():
        if key not in ("is_active", "entite"):
            assert isinstance(value, str), key
    assert row["last_action"] == "termine" and row["last_action_date"] == "2024-01-12 10:00:05"
    assert row["siren"] == "213502388" and row["entite_mere"] == "1"
    assert "date_ar" not in row  # form values only in the detail


def test_multi_detail_with_php_array_syntax(small_sim):
    answer = call(small_sim, LIST, [("id_d[]", DOC_A), ("id_d[]", DOC_B)])
    assert answer.status == 200
    assert set(answer.json) == {DOC_A, DOC_B}
    assert answer.json[DOC_A]["data"]["numero_de_lacte"] == "DEL2024_001"


def test_bad_date_parameter_is_a_400(small_sim):
    answer = call(small_sim, LIST, {**STUDIO, "etatTransit": "acquiter-tdt", "state_begin": "hier"})
    assert answer.status == 400 and "state_begin" in answer.error


def test_date_in_fr(small_sim):
    rows = ids(
        call(
            small_sim,
            LIST,
            {**STUDIO, "etatTransit": "acquiter-tdt", "state_begin": "01/02/2024", "date_in_fr": "1"},
        )
    )
    assert rows == [DOC_B]

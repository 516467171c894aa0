"""Error model (§2, §4), rights (§12) and the JSON encoding of every answer."""

from __future__ import annotations

from pastell_sim_helpers import DOC_A, DOC_E, LECTEUR, basic, call


def test_missing_v2_is_400(small_sim):
    answer = call(small_sim, "/api/entite")
    assert answer.status == 400 and answer.error == "Version de l'API incorrecte ou version absente"
    assert call(small_sim, "/api/v1/entite").status == 400


def test_empty_function_is_400(small_sim):
    for path in ("/api/v2/", "/api/v2"):
        answer = call(small_sim, path)
        assert answer.status == 400 and answer.error == "Il faut spécifier une fonction de l'api"


def test_unknown_route_is_404_with_the_resource_name(small_sim):
    answer = call(small_sim, "/api/v2/utilisateurs")
    assert answer.status == 404 and answer.error == "La ressource utilisateurs n'a pas été trouvée"


def test_put_is_405(small_sim):
    answer = call(small_sim, "/api/v2/entite", method="PUT")
    assert answer.status == 405 and answer.json["status"] == "error"


def test_resource_names_are_case_insensitive(small_sim):
    assert call(small_sim, "/api/v2/Entite").status == 200


def test_unknown_entity_messages_differ_by_route(small_sim):
    assert call(small_sim, "/api/v2/entite/999").error == "L'entité 999 n'a pas été trouvée"
    answer = call(small_sim, "/api/v2/entite/999/document")
    assert answer.status == 404 and answer.error == "L'entité 999 n'existe pas"


def test_id_e_zero_is_mandatory_error(small_sim):
    answer = call(small_sim, "/api/v2/entite/0/document")
    assert answer.status == 400 and answer.error == "id_e est obligatoire"


def test_document_of_another_entity_is_404(small_sim):
    answer = call(small_sim, f"/api/v2/entite/5/document/{DOC_E}")
    assert answer.status == 404
    assert answer.error == f"Le document {DOC_E} n'appartient pas à l'entité 5"


def test_read_only_account_lists_but_gets_403_on_detail_and_files(small_sim):
    assert call(small_sim, "/api/v2/entite/5/document", auth=LECTEUR).status == 200
    for path in (f"/api/v2/entite/5/document/{DOC_A}", f"/api/v2/entite/5/document/{DOC_A}/file/arrete/0"):
        answer = call(small_sim, path, auth=LECTEUR)
        assert answer.status == 403
        assert answer.error == "Acces interdit id_e=5, droit=deliberations-studio:edition,id_u=2"


def test_missing_flux_lecture_on_listing_is_403(small_sim):
    bruz = basic("bruz", "bruz-demo")
    answer = call(small_sim, "/api/v2/entite/6/document", {"type": "actes-generique"}, auth=bruz)
    assert (
        answer.status == 403 and answer.error == "Acces interdit id_e=6, droit=actes-generique:lecture,id_u=4"
    )
    answer = call(small_sim, "/api/v2/entite/5/document", auth=bruz)
    assert answer.error == "Acces interdit id_e=5, droit=entite:lecture,id_u=4"


def test_entities_visible_follow_rights_and_is_active_filter(small_sim):
    bruz = basic("bruz", "bruz-demo")
    assert [e["id_e"] for e in call(small_sim, "/api/v2/entite", auth=bruz).json] == ["6"]
    everything = call(small_sim, "/api/v2/entite").json
    assert [e["id_e"] for e in everything] == ["1", "6", "5"]  # by entite_mere, then denomination
    assert all(isinstance(e["is_active"], bool) for e in everything)
    inactive = call(small_sim, "/api/v2/entite", {"is_active": "0"}).json
    assert [e["id_e"] for e in inactive] == ["6"]


def test_entity_detail_lists_direct_children(small_sim):
    body = call(small_sim, "/api/v2/entite/1").json
    assert body["entite_fille"] == [{"id_e": "5"}, {"id_e": "6"}]
    assert call(small_sim, "/api/v2/entite/5").json["entite_fille"] == []


def test_answers_are_pretty_php_json(small_sim):
    answer = call(small_sim, "/api/v2/entite/1")
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    text = answer.body.decode("ascii")  # non-ASCII is \\u-escaped, as PHP's json_encode does
    assert text.startswith('{\n    "id_e": "1",')
    assert "M\\u00e9galis" in text


def test_version(small_sim):
    body = call(small_sim, "/api/v2/version").json
    assert set(body) == {
        "version",
        "revision",
        "last_changed_date",
        "extensions_versions_accepted",
        "version_complete",
    }
    assert body["version"].startswith("4.")


def test_flux_discovery_and_publication_open_data_codes(small_sim):
    flux = call(small_sim, "/api/v2/flux").json
    assert "deliberations-studio" in flux and set(flux["ls-actes"]) == {"type", "nom"}
    form = call(small_sim, "/api/v2/flux/deliberations-studio").json
    assert form["publication_open_data"]["value"] == {"3": "Oui", "1": "Non", "2": "Ne sais pas"}
    assert form["acte_nature"]["value"]["1"] == "Délibérations"
    assert form["numero_de_lacte"]["index"] is True
    assert "publication_open_data" not in call(small_sim, "/api/v2/flux/actes-generique").json
    actions = call(small_sim, "/api/v2/flux/actes-generique/action").json
    assert actions["acquiter-tdt"]["name"] == "Acquitté par la préfecture"
    answer = call(small_sim, "/api/v2/flux/inconnu")
    assert answer.status == 400 and answer.error == "Type inconnu introuvable"


def test_generic_failures_are_400(small_sim):
    answer = call(small_sim, "/api/v2/entite/5/document", {"limit": "-1"})
    assert answer.status == 400 and answer.json["status"] == "error"


def test_journal_filters_inclusive_dates_and_desc_order(small_sim):
    rows = call(
        small_sim, "/api/v2/journal", {"id_e": "5", "date_debut": "2024-01-12", "date_fin": "2024-01-12"}
    ).json
    assert [r["action"] for r in rows] == ["termine", "acquiter-tdt"]
    assert int(rows[0]["id_j"]) > int(rows[1]["id_j"])
    assert all(isinstance(v, str) for v in rows[0].values())
    acks = call(small_sim, "/api/v2/journal", {"id_e": "5", "type": "deliberations-studio"}).json
    assert {r["document_type"] for r in acks} == {"deliberations-studio"}
    one = call(small_sim, f"/api/v2/journal/{rows[1]['id_j']}").json
    assert one["message"] == "L'acte a été acquitté par le contrôle de légalité" and "preuve" in one
    missing = call(small_sim, "/api/v2/journal/99999")
    assert missing.status == 404 and missing.error == "L'événement 99999 n'a pas été trouvé"
    assert len(call(small_sim, "/api/v2/journal", {"id_e": "5", "limit": "2"}).json) == 2


def test_journal_csv(small_sim):
    answer = call(small_sim, "/api/v2/journal", {"id_e": "5", "format": "csv", "csv_entete_colonne": "1"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.body.decode().splitlines()[0].startswith("id_j;type;")


def test_php_json_quirks():
    from regate_local.pastell_sim.api import php_json

    assert (
        php_json({"a": "x/y", "b": {}, "c": "🎶"})
        == b'{\n    "a": "x\\/y",\n    "b": [],\n    "c": "\\ud83c\\udfb6"\n}'
    )


def test_document_created_empty_has_data_as_empty_array(small_sim):
    created = call(
        small_sim,
        "/api/v2/entite/5/document",
        method="POST",
        body=b"type=ls-actes",
        content_type="application/x-www-form-urlencoded",
    )
    assert created.json["data"] == []  # PHP's empty array


def test_index_php_routing_and_jeton(small_sim):
    assert call(small_sim, "/api/index.php", {"api_function": "v2/version"}).status == 200
    assert call(small_sim, "/api/index.php", {"api_function": "entite"}).status == 400
    assert call(small_sim, "/api/v2/journal/1/jeton").status == 404

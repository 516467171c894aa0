"""File download (§9), detail shape (§8), and the generated PDFs / ARActe XML (§15)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from pastell_sim_helpers import DOC_A, DOC_B, call

from regate_local.pastell_sim.files import ACTES_NS, ActContext, aractes_xml, make_pdf

DETAIL = f"/api/v2/entite/5/document/{DOC_A}"
A = f"{{{ACTES_NS}}}"


def test_detail_shape(small_sim):
    body = call(small_sim, DETAIL).json
    assert body["info"] == {
        "id_d": DOC_A,
        "type": "deliberations-studio",
        "titre": "Tarifs de la cantine scolaire",
        "creation": "2024-01-10 09:00:00",
        "modification": "2024-01-12 10:00:05",
    }
    data = body["data"]
    assert data["arrete"] == ["DEL2024_001.pdf"]
    assert data["autre_document_attache"] == ["grille_tarifaire.pdf", "perdu.pdf"]
    assert data["acte_tamponne"] == ["DEL2024_001-tampon.pdf"]
    assert data["aractes"] == ["DEL2024_001-ar-actes.xml"]
    assert data["publication_open_data"] == "3" and data["date_ar"] == "2024-01-12"
    assert body["last_action"] == {
        "action": "termine",
        "message": "Traitement terminé",
        "date": "2024-01-12 10:00:05",
    }
    assert body["action_possible"] == body["action-possible"]


def test_detail_data_has_only_fields_ever_set(small_sim):
    data = call(small_sim, f"/api/v2/entite/5/document/{DOC_B}").json["data"]
    assert set(data) == {"acte_nature", "numero_de_lacte", "objet"}


def test_file_download_bytes_headers_and_journal_event(small_sim):
    before = len(small_sim.platform.journal)
    answer = call(small_sim, DETAIL + "/file/arrete/0")
    assert answer.status == 200
    assert answer.body.startswith(b"%PDF-1.4")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'attachment; filename="DEL2024_001.pdf"'
    assert answer.headers["expires"] == "0" and answer.headers["pragma"] == "public"
    assert answer.headers["cache-control"] == "must-revalidate, post-check=0,pre-check=0"
    assert len(small_sim.platform.journal) == before + 1
    event = small_sim.platform.journal[-1]
    assert (event.type, event.action, event.id_d, event.id_u) == (7, "Consulté", DOC_A, "1")
    # num defaults to 0
    assert call(small_sim, DETAIL + "/file/arrete").body == answer.body


def test_annex_by_index(small_sim):
    answer = call(small_sim, DETAIL + "/file/autre_document_attache/0")
    assert answer.status == 200 and b"grille_tarifaire" in answer.body


def test_file_errors(small_sim):
    empty_slot = call(small_sim, DETAIL + "/file/annexes_tamponnees/0")
    assert empty_slot.status == 404 and empty_slot.error == "Ce fichier n'existe pas"
    out_of_range = call(small_sim, DETAIL + "/file/arrete/1")
    assert out_of_range.status == 404 and out_of_range.error == "Ce fichier n'existe pas"
    never_set = call(small_sim, DETAIL + "/file/document_papier/0")
    assert never_set.status == 404
    missing_on_disk = call(small_sim, DETAIL + "/file/autre_document_attache/1")
    assert missing_on_disk.status == 400 and missing_on_disk.error == "Ce fichier n'existe pas"


def test_receive_true_binary_content_is_a_200_json_error(small_sim):
    answer = call(small_sim, DETAIL + "/file/arrete/0", {"receive": "true"})
    assert answer.status == 200
    assert answer.json["error-message"].startswith("Impossible d'encoder le résultat en JSON")


def test_aractes_xml_per_reference(small_sim):
    answer = call(small_sim, DETAIL + "/file/aractes/0")
    assert answer.headers["content-type"] == "text/xml"
    root = ET.fromstring(answer.body)
    assert root.tag == f"{A}ARActe"
    assert root.get(f"{A}IDActe") == "035-213502388-20240109-DEL2024_001-DE"
    assert root.get(f"{A}DateReception") == "2024-01-12"
    recu = root.find(f"{A}ActeRecu")
    assert recu.get(f"{A}Date") == "2024-01-09"
    assert recu.get(f"{A}NumeroInterne") == "DEL2024_001"
    assert recu.get(f"{A}CodeNatureActe") == "1"
    assert recu.find(f"{A}CodeMatiere1").get(f"{A}CodeMatiere") == "7"
    assert recu.find(f"{A}CodeMatiere2").get(f"{A}CodeMatiere") == "2"
    assert recu.find(f"{A}CodeMatiere3") is None
    assert recu.findtext(f"{A}Objet") == "Tarifs de la cantine scolaire"
    assert recu.findtext(f"{A}Document/{A}NomFichier") == "DEL2024_001.pdf"
    assert recu.find(f"{A}Annexes").get(f"{A}Nombre") == "2"
    assert recu.findtext(f"{A}DocumentPapier") == "N"
    assert root.findtext(f"{A}ClassificationDateVersionEnCours") == "2023-06-01"
    assert answer.body.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')


def _ctx(**overrides) -> ActContext:
    values = dict(
        denomination="Ville de Rennes",
        siren="213502388",
        departement="35",
        numero="DEL2024_9",
        objet="Subvention de 1 500 € à l’association « Cœur » 🎶",
        nature="3",
        date_de_lacte="2024-06-24",
        classification="1.1.2 Marchés publics",
        date_ar="2024-06-26",
        annex_names=(),
        main_name="DEL2024_9.pdf",
        document_papier=True,
    )
    values.update(overrides)
    return ActContext(**values)


def test_aractes_keeps_non_latin1_characters_and_three_levels():
    root = ET.fromstring(aractes_xml(_ctx()))
    recu = root.find(f"{A}ActeRecu")
    assert recu.findtext(f"{A}Objet") == "Subvention de 1 500 € à l’association « Cœur » 🎶"
    assert [recu.find(f"{A}CodeMatiere{i}").get(f"{A}CodeMatiere") for i in (1, 2, 3)] == ["1", "1", "2"]
    assert root.get(f"{A}IDActe") == "035-213502388-20240624-DEL2024_9-AI"
    assert root.get(f"{A}IDActe").count("-") == 4
    assert recu.findtext(f"{A}DocumentPapier") == "O"


def parse_pdf(content: bytes) -> dict[int, bytes]:
    """Check the structure a reader relies on: header, xref offsets pointing at objects, trailer, EOF."""
    assert content.startswith(b"%PDF-1.")
    assert content.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)\s+%%EOF", content).group(1))
    assert content[startxref:].startswith(b"xref")
    header = re.match(rb"xref\s+0 (\d+)\s+", content[startxref:])
    count = int(header.group(1))
    entries = content[startxref + header.end() :].split(b"\n")[:count]
    objects: dict[int, bytes] = {}
    for number, entry in enumerate(entries):
        offset, _gen, kind = entry.split()
        if kind == b"n":
            at = int(offset)
            assert content[at:].startswith(f"{number} 0 obj".encode()), number
            objects[number] = content[at : content.index(b"endobj", at)]
    trailer = content[content.index(b"trailer") :]
    root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    assert b"/Type /Catalog" in objects[root]
    pages = int(re.search(rb"/Pages (\d+) 0 R", objects[root]).group(1))
    assert b"/Type /Pages" in objects[pages] and b"/Count 1" in objects[pages]
    page = int(re.search(rb"/Kids \[(\d+) 0 R\]", objects[pages]).group(1))
    contents = int(re.search(rb"/Contents (\d+) 0 R", objects[page]).group(1))
    stream = objects[contents]
    length = int(re.search(rb"/Length (\d+)", stream).group(1))
    body = stream[stream.index(b"stream\n") + len(b"stream\n") :]
    assert body[length:].startswith(b"\nendstream")
    return objects


def test_generated_pdfs_are_structurally_valid_and_small(small_sim):
    for field in ("arrete", "acte_tamponne", "bordereau", "autre_document_attache"):
        content = call(small_sim, f"{DETAIL}/file/{field}/0").body
        objects = parse_pdf(content)
        assert len(content) < 2048, field
        assert any(b"Tj" in o for o in objects.values())
    stamped = call(small_sim, f"{DETAIL}/file/acte_tamponne/0").body
    assert b"Re\xe7u en pr\xe9fecture le 12/01/2024" in stamped  # WinAnsi text
    assert b"035-213502388-20240109-DEL2024_001-DE" in stamped


def test_pdf_escapes_and_caps_text():
    content = make_pdf(["Parenthèses (et) barre \\ oblique"] + [f"ligne {i} " * 30 for i in range(40)])
    parse_pdf(content)
    assert b"\\(et\\)" in content and b"\\\\" in content
    assert len(content) < 2048

"""Deterministic file contents for seeded acts: small valid PDFs, ARActe XML, type_piece.json.

The seed describes files by *kind* so operators can edit it by hand; bytes are generated here, always
the same for the same input, so captures are reproducible (same sha256 on every run).
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from regate_local.pastell_sim.flux import MAIN_PIECE, NATURE_SHORT

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
CLASSIFICATION_VERSION = "2023-06-01"
PDF_MAX_LINES = 22
PDF_TEXT_BUDGET = 1250  # bytes of text operators: keeps every file < 2 KB
PDF_LINE_WIDTH = 78


def _pdf_escape(text: str) -> bytes:
    """A PDF literal string in WinAnsi (Helvetica's encoding); characters it lacks become '?'."""
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 (catalog, pages, page, font, content stream, xref, trailer) showing ``lines``.

    Long lines are wrapped and the text is capped so every file stays well under 2 KB.
    """
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, PDF_LINE_WIDTH) or [""])
    wrapped = wrapped[:PDF_MAX_LINES]
    ops = [b"BT", b"/F1 11 Tf", b"14 TL", b"56 780 Td"]
    used = 0
    for line in wrapped:
        op = b"(" + _pdf_escape(line) + b") Tj T*"
        used += len(op) + 1
        if used > PDF_TEXT_BUDGET:
            break
        ops.append(op)
    ops.append(b"ET")
    stream = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Producer (Regate - simulateur Pastell) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


@dataclass(frozen=True)
class ActContext:
    """What file generators need to know about an act and its entity."""

    denomination: str
    siren: str
    departement: str
    numero: str
    objet: str
    nature: str
    date_de_lacte: str
    classification: str
    date_ar: str | None
    annex_names: tuple[str, ...]
    main_name: str
    document_papier: bool
    acte_unique_id: str | None = None

    @property
    def id_acte(self) -> str:
        """IDActe `<dép 3 chars>-<SIREN>-<YYYYMMDD>-<numero>-<nature short code>` (§15)."""
        if self.acte_unique_id:
            return self.acte_unique_id
        return make_id_acte(self.departement, self.siren, self.date_de_lacte, self.numero, self.nature)


def make_id_acte(departement: str, siren: str, date_de_lacte: str, numero: str, nature: str) -> str:
    dep = departement.zfill(3)
    return f"{dep}-{siren}-{date_de_lacte.replace('-', '')}-{numero}-{NATURE_SHORT.get(nature, 'AU')}"


def fr_date(iso: str) -> str:
    """``YYYY-MM-DD`` → ``DD/MM/YYYY`` as printed on stamps and slips."""
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def acte_pdf(ctx: ActContext) -> bytes:
    return make_pdf(
        [
            ctx.denomination.upper(),
            "",
            f"{_nature_title(ctx.nature)} n° {ctx.numero} du {fr_date(ctx.date_de_lacte)}",
            "",
            f"Objet : {ctx.objet}",
            "",
            f"Matière : {ctx.classification}",
            "",
            "Vu le Code général des collectivités territoriales,",
            "Après en avoir délibéré, l'assemblée adopte les dispositions exposées ci-dessus.",
        ]
    )


def _stamp(ctx: ActContext) -> list[str]:
    lines = [f"Envoyé en préfecture le {fr_date(ctx.date_ar)}" if ctx.date_ar else "Envoyé en préfecture"]
    if ctx.date_ar:
        lines.append(f"Reçu en préfecture le {fr_date(ctx.date_ar)}")
    lines += ["Publié le", f"ID : {ctx.id_acte}", ""]
    return lines


def acte_tampon_pdf(ctx: ActContext) -> bytes:
    return make_pdf(
        [
            *_stamp(ctx),
            ctx.denomination.upper(),
            f"{_nature_title(ctx.nature)} n° {ctx.numero} du {fr_date(ctx.date_de_lacte)}",
            f"Objet : {ctx.objet}",
        ]
    )


def annexe_pdf(ctx: ActContext, index: int, name: str, stamped: bool = False) -> bytes:
    lines = _stamp(ctx) if stamped else []
    lines += [
        ctx.denomination.upper(),
        f"Annexe {index + 1} à l'acte n° {ctx.numero} : {name}",
        f"Objet de l'acte : {ctx.objet}",
    ]
    return make_pdf(lines)


def bordereau_pdf(ctx: ActContext) -> bytes:
    return make_pdf(
        [
            "Bordereau d'acquittement de transaction",
            "",
            f"Collectivité : {ctx.denomination} (SIREN {ctx.siren})",
            f"Identifiant unique de l'acte : {ctx.id_acte}",
            f"Date de décision : {fr_date(ctx.date_de_lacte)}",
            f"Date de réception : {fr_date(ctx.date_ar) if ctx.date_ar else ''}",
            f"Nature de l'acte : {_nature_title(ctx.nature)}",
            f"Matière : {ctx.classification}",
            f"Objet : {ctx.objet}",
            f"Nombre d'annexes : {len(ctx.annex_names)}",
        ]
    )


def aractes_xml(ctx: ActContext) -> bytes:
    """ARActe XML exactly as §15 (root attributes IDActe / DateReception = date_ar)."""
    if not ctx.date_ar:
        raise ValueError(f"aractes for {ctx.numero}: the act has no date_ar")
    ET.register_namespace("actes", ACTES_NS)

    def q(name: str) -> str:
        return f"{{{ACTES_NS}}}{name}"

    root = ET.Element(q("ARActe"), {q("IDActe"): ctx.id_acte, q("DateReception"): ctx.date_ar})
    recu = ET.SubElement(
        root,
        q("ActeRecu"),
        {q("Date"): ctx.date_de_lacte, q("NumeroInterne"): ctx.numero, q("CodeNatureActe"): ctx.nature},
    )
    code = ctx.classification.split(" ", 1)[0]
    for level, part in enumerate([p for p in code.split(".") if p][:5], start=1):
        ET.SubElement(recu, q(f"CodeMatiere{level}"), {q("CodeMatiere"): part})
    ET.SubElement(recu, q("Objet")).text = ctx.objet
    ET.SubElement(recu, q("ClassificationDateVersion")).text = CLASSIFICATION_VERSION
    document = ET.SubElement(recu, q("Document"))
    ET.SubElement(document, q("NomFichier")).text = ctx.main_name
    annexes = ET.SubElement(recu, q("Annexes"), {q("Nombre"): str(len(ctx.annex_names))})
    for name in ctx.annex_names:
        ET.SubElement(ET.SubElement(annexes, q("Annexe")), q("NomFichier")).text = name
    ET.SubElement(recu, q("DocumentPapier")).text = "O" if ctx.document_papier else "N"
    ET.SubElement(root, q("ClassificationDateVersionEnCours")).text = CLASSIFICATION_VERSION
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="ISO-8859-1", xml_declaration=False)
    return b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + body + b"\n"


def type_piece_json(ctx: ActContext) -> bytes:
    """``type_piece.json``: main act first, then annexes (§14)."""
    rows = [{"filename": ctx.main_name, "typologie": MAIN_PIECE.get(ctx.nature, "99_AU")}]
    rows += [{"filename": name, "typologie": "41_NC"} for name in ctx.annex_names]
    return json.dumps(rows, ensure_ascii=False).encode("utf-8")


def _nature_title(nature: str) -> str:
    return {
        "1": "Délibération",
        "2": "Arrêté réglementaire",
        "3": "Arrêté individuel",
        "4": "Contrat",
        "5": "Document budgétaire",
        "6": "Acte",
        "7": "Acte",
    }.get(nature, "Acte")


def sniff_mime(content: bytes) -> str:
    """What libmagic would say for the kinds of files the simulator stores."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"<?xml") or content.lstrip().startswith(b"<"):
        return "text/xml"
    if content.startswith(b"PK\x03\x04"):
        return "application/zip"
    if content.lstrip()[:1] in (b"[", b"{"):
        return "application/json"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"

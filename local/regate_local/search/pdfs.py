"""Synthetic act PDFs — text-layer and "scanned" (image-only) — plus hostile PDFs, deterministic by seed.

* text PDFs: fpdf2 (LGPL-3.0, test-only dependency) with the shipped DejaVu Sans (Bitstream Vera licence,
  ``fonts/DejaVu-LICENSE.txt``), so accents, ``œ`` and ``’`` are real text;
* scans: the text drawn with Pillow at 300 dpi, slightly rotated and blurred, saved as an image-only PDF
  (no text layer: only OCR can read it);
* :func:`hostile_pdfs`: not a PDF, empty, header only, truncated, encrypted, a decompression bomb, a
  giant page, a page with a broken content stream.

Streams to a folder, so 100 000 documents fit in a bench::

    python -m regate_local.search.pdfs --count 100000 --scan-ratio 0.2 --seed 1 /tmp/corpus
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import textwrap
import zlib
from functools import lru_cache
from pathlib import Path

from regate_local.search.corpus import actes, paragraphes

FONT = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
A4_MM = (210, 297)


def text_pdf(paragraphs: list[str], title: str = "Délibération", pages: int = 1) -> bytes:
    """A text-layer PDF; ``pages`` > 1 repeats the paragraphs on that many pages (numbered)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_compression(True)
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(title)
    pdf.add_font("DejaVu", fname=str(FONT))
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("DejaVu", size=14)
        pdf.multi_cell(0, 8, title if pages == 1 else f"{title} — page {number}")
        pdf.ln(4)
        pdf.set_font("DejaVu", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(3)
    return bytes(pdf.output())


def scanned_pdf(paragraphs: list[str], seed: int = 0, pages: int = 1, dpi: int = 300) -> bytes:
    """An image-only PDF (a "scan"): each page is a rotated, blurred grayscale raster of the text."""
    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    font = _pil_font(round(dpi * 11 / 72 * 1.05))
    line_height = round(font.size * 1.45)
    images = []
    for _ in range(pages):
        image = Image.new("L", (width, height), 250)
        draw = ImageDraw.Draw(image)
        y = round(dpi * 0.8)
        for paragraph in paragraphs:
            for line in textwrap.wrap(paragraph, width=75) or [""]:
                draw.text((round(dpi * 0.8), y), line, fill=20, font=font)
                y += line_height
            y += line_height // 2
            if y > height - dpi:
                break
        angle = rnd.uniform(0.5, 1.0) * rnd.choice((-1, 1))
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=250, expand=False)
        images.append(image.filter(ImageFilter.GaussianBlur(0.6)))
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


@lru_cache(maxsize=8)
def _pil_font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    return ImageFont.truetype(str(FONT), size)


_FIXED_DATE = __import__("datetime").datetime(2024, 1, 1, tzinfo=__import__("datetime").timezone.utc)


# ------------------------------------------------------------------------------------ hostile
@lru_cache(maxsize=2)
def hostile_pdfs(seed: int = 0) -> dict[str, bytes]:
    """Files that must give a clear result, never a crash: name → bytes (the bombs only through
    :class:`~regate.search.extract.ExtractionWorker`, which bounds the memory)."""
    rnd = random.Random(seed)
    good = text_pdf(paragraphes(rnd, 3), "Délibération tronquée")
    return {
        "pas_un_pdf": b"<html><body>Ceci n'est pas un PDF</body></html>",
        "vide": b"",
        "en_tete_seul": b"%PDF-1.7\n",
        "tronque": good[: len(good) // 2],
        "chiffre": encrypted_pdf(),
        "bombe": flate_bomb_pdf(),
        "bombe_contenu": content_bomb_pdf(),
        "page_geante": giant_page_pdf(),
        "contenu_casse": broken_stream_pdf(),
        "binaire_aleatoire": b"%PDF-1.4\n" + rnd.randbytes(4096),
    }


def encrypted_pdf(user_password: str = "secret") -> bytes:
    """A PDF that cannot be opened without its user password."""
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.set_creation_date(_FIXED_DATE)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 6, "Document confidentiel chiffré")
    pdf.set_encryption(
        owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.RC4
    )
    return bytes(pdf.output())


def _pdf(objects: list[bytes]) -> bytes:
    """Assemble numbered objects into a PDF with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return (
        b"<< "
        + dictionary
        + b" /Length "
        + str(len(data)).encode()
        + b" >>\nstream\n"
        + data
        + b"\nendstream"
    )


def _deflate_repeated(chunk: bytes, times: int) -> bytes:
    """A zlib stream of ``chunk`` repeated ``times`` times, built in milliseconds: after a full flush the
    compressor's output for the same chunk is the same bytes, so one block is repeated (the trailing
    checksum is therefore wrong — readers inflate everything before they can tell)."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + block * (times - 1) + compressor.flush()


@lru_cache(maxsize=4)
def flate_bomb_pdf(expanded_mb: int = 2048) -> bytes:
    """A page whose image is a ~2 MB Flate stream expanding to ``expanded_mb`` MB (a decompression bomb)."""
    side = int((expanded_mb * 1024 * 1024) ** 0.5)
    data = _deflate_repeated(bytes(1024 * 1024), side * side // (1024 * 1024))
    image = _stream(
        f"/Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
        "/BitsPerComponent 8 /Filter /FlateDecode".encode(),
        data,
    )
    content = _stream(b"", b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /XObject << /Im0 5 0 R >> >> >>",
            content,
            image,
        ]
    )


@lru_cache(maxsize=4)
def content_bomb_pdf(expanded_mb: int = 2048) -> bytes:
    """A page whose content stream inflates to ``expanded_mb`` MB: PDFium must decode it to read the page."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            _stream(b"/Filter /FlateDecode", _deflate_repeated(b" " * (1024 * 1024), expanded_mb)),
        ]
    )


def giant_page_pdf() -> bytes:
    """A 5 m x 5 m page holding one small image: rendering it at 300 dpi would be 3.5 G pixels."""
    image = _stream(
        b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 8",
        bytes(range(64)),
    )
    content = _stream(b"", b"q 14400 0 0 14400 0 0 cm /Im0 Do Q")
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R "
            b"/Resources << /XObject << /Im0 5 0 R >> >> >>",
            content,
            image,
        ]
    )


def broken_stream_pdf() -> bytes:
    """Two pages: the first one's content stream is garbage behind a Flate filter, the second is fine."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    good = _stream(b"", b"BT /F1 12 Tf 72 720 Td (Deuxieme page lisible : budget primitif) Tj ET")
    bad = _stream(b"/Filter /FlateDecode", b"\x78\x9c not zlib at all \xff\xfe" * 10)
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R "
            b"/Resources << /Font << /F1 7 0 R >> >> >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R "
            b"/Resources << /Font << /F1 7 0 R >> >> >>",
            bad,
            good,
            font,
        ]
    )


# ---------------------------------------------------------------------------------------- CLI
def generate(folder: Path, count: int, seed: int = 0, scan_ratio: float = 0.2) -> int:
    """Write ``count`` act PDFs (``{n}.pdf``) and ``index.jsonl`` (name, kind, siren, numero, objet)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    with (folder / "index.jsonl").open("w", encoding="utf-8") as index:
        for acte in actes(count, seed=seed, documents_every=1):
            rnd = random.Random(f"pdf:{seed}:{written}")
            scan = rnd.random() < scan_ratio
            body = acte.documents[0]
            data = scanned_pdf(body, seed=written) if scan else text_pdf(body[1:], title=body[0])
            name = f"{written:07d}.pdf"
            (folder / name).write_bytes(data)
            row = {"nom": name, "scan": scan, "siren": acte.siren, "numero": acte.numero, "objet": acte.objet}
            index.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scan-ratio", type=float, default=0.2)
    args = parser.parse_args(argv)
    written = generate(args.folder, args.count, args.seed, args.scan_ratio)
    print(f"{written} PDF written to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

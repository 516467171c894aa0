"""Text of a published PDF: its text layer, or French OCR for scanned pages — bounded, never a crash.

* **Text layer** with pypdfium2 (PDFium, Apache-2.0/BSD-3; fastest measured, and it also renders pages).
* **OCR** with tesserocr (libtesseract bundled in the wheel) and the shipped ``fra.traineddata``
  (tessdata_fast, Apache-2.0), for pages with (almost) no text and at least one image.
* **Bounds** (all ``REGATE_SEARCH_EXTRACT_*`` settings): file size, pages read, OCR pages, a per-page OCR
  timeout, a per-document time budget, a pixel cap on renders, the characters kept, and an address-space
  limit on the worker process. A document cut off by a bound is ``partiel`` with its ``motif``; an
  unreadable one is ``echec`` with its ``motif`` — never an exception.
* **Isolation**: :class:`ExtractionWorker` runs the extraction in a child process (spawned once, reused
  for many documents), so a PDF that hangs PDFium or exhausts memory kills only the child; the parent
  keeps the pages already received, marks the text partial and restarts the child for the next file.

Only :class:`~regate.search.documents.PublicDocument` values are accepted: a withheld document is never
extracted (see :mod:`regate.search.documents`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from regate.search.documents import PublicDocument, require_public_document
from regate.settings import Settings

Methode = Literal["texte", "ocr", "mixte", "aucune"]
Statut = Literal["complet", "partiel", "echec"]
EXTRACTOR_VERSION = "regate-extract/1"
TESSDATA_DIR = Path(__file__).parent / "tessdata"
FRA_TRAINEDDATA_SHA256 = "ced037562e8c80c13122dece28dd477d399af80911a28791a66a63ac1e3445ca"
_GRACE_SECONDS = 5.0  # beyond the cooperative budget, before the parent kills the worker


class ExtractionLimits(BaseModel):
    """Every bound of one extraction (from the ``REGATE_SEARCH_EXTRACT_*`` settings)."""

    max_bytes: int = 160 * 1024 * 1024
    max_pages: int = 2000
    max_ocr_pages: int = 60
    document_seconds: float = 120.0
    page_seconds: float = 15.0
    ocr_dpi: int = 300
    max_render_pixels: int = 12_000_000
    max_memory_mb: int = 1536
    min_text_chars: int = 16
    max_text_chars: int = 2_000_000
    tessdata_dir: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractionLimits:
        return cls(
            max_bytes=settings.search_extract_max_bytes,
            max_pages=settings.search_extract_max_pages,
            max_ocr_pages=settings.search_extract_max_ocr_pages,
            document_seconds=settings.search_extract_document_seconds,
            page_seconds=settings.search_extract_page_seconds,
            ocr_dpi=settings.search_extract_ocr_dpi,
            max_render_pixels=settings.search_extract_max_render_pixels,
            max_memory_mb=settings.search_extract_max_memory_mb,
            min_text_chars=settings.search_extract_min_text_chars,
            max_text_chars=settings.search_extract_max_text_chars,
            tessdata_dir=settings.search_tessdata_dir,
        )


class PageText(BaseModel):
    numero: int = Field(ge=1)
    methode: Literal["texte", "ocr", "vide"]
    texte: str = ""
    confiance: float | None = Field(default=None, description="Mean OCR word confidence (0-100)")
    motif: str | None = Field(default=None, description="Why this page is incomplete, if it is")


class ExtractedText(BaseModel):
    """The text of one document content (keyed by its sha256 in the text store)."""

    sha256: str
    extracteur: str = EXTRACTOR_VERSION
    statut: Statut
    methode: Methode
    motif: str | None = Field(default=None, description="Machine-readable reason when not complet")
    detail: str | None = None
    pages_total: int | None = Field(default=None, description="Pages in the PDF (None when unreadable)")
    pages: list[PageText] = Field(default_factory=list)
    secondes: float = 0.0

    @property
    def texte(self) -> str:
        return "\n\n".join(page.texte for page in self.pages if page.texte)

    @property
    def pages_ocr(self) -> int:
        return sum(1 for page in self.pages if page.methode == "ocr")


# ----------------------------------------------------------------------------------- entry points
def extract_public_document(
    document: PublicDocument, data: bytes, limits: ExtractionLimits, worker: ExtractionWorker | None = None
) -> ExtractedText:
    """Extract the text of a document the caller declared public (``PublicDocument`` only).

    ``data`` must hash to ``document.sha256`` (a mix-up would index another file's text). With a
    ``worker`` the work runs isolated in its child process; without, in this process (tests, tools).
    """
    document = require_public_document(document)
    digest = hashlib.sha256(data).hexdigest()
    if digest != document.sha256:
        return _failure(document.sha256, "empreinte_differente", f"sha256 des octets : {digest}")
    if worker is not None:
        return worker.extract(data, digest)
    return extract_pdf(data, limits, digest)


def extract_pdf(data: bytes, limits: ExtractionLimits, sha256: str | None = None) -> ExtractedText:
    """In-process extraction (no isolation): every outcome is a result, never an exception."""
    digest = sha256 or hashlib.sha256(data).hexdigest()
    started = time.monotonic()
    collector = _Collector(digest)
    try:
        for event in _events(data, limits):
            collector.add(event)
    except MemoryError:
        return collector.result(time.monotonic() - started, ("memoire", "MemoryError"))
    except Exception as exc:  # a library error on a hostile file: a result, not a crash
        return collector.result(time.monotonic() - started, ("erreur_extraction", _describe(exc)))
    return collector.result(time.monotonic() - started)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _failure(sha256: str, motif: str, detail: str | None = None) -> ExtractedText:
    return ExtractedText(sha256=sha256, statut="echec", methode="aucune", motif=motif, detail=detail)


# ---------------------------------------------------------------------------------------- core
def _events(data: bytes, limits: ExtractionLimits) -> Iterator[dict[str, Any]]:
    """Events: ``{"pages_total"}``, one ``{"page"}`` per page, then ``{"fin": statut, "motif"}``."""
    if len(data) > limits.max_bytes:
        yield {"fin": "echec", "motif": "trop_volumineux", "detail": f"{len(data)} octets"}
        return
    if b"%PDF-" not in data[:1024]:
        yield {"fin": "echec", "motif": "pas_un_pdf", "detail": "pas d'en-tête %PDF-"}
        return
    import pypdfium2 as pdfium

    started = time.monotonic()
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        yield {"fin": "echec", "motif": _open_error(exc), "detail": str(exc)[:300]}
        return
    try:
        yield from _pages(pdf, limits, started)
    finally:
        pdf.close()


def _pages(pdf: Any, limits: ExtractionLimits, started: float) -> Iterator[dict[str, Any]]:
    total = len(pdf)
    yield {"pages_total": total}
    ocr = _Ocr(limits)
    chars = 0
    ocr_pages = 0
    motif: str | None = None
    for index in range(total):
        if index >= limits.max_pages:
            motif = "trop_de_pages"
            break
        if time.monotonic() - started > limits.document_seconds:
            motif = "delai_document"
            break
        try:
            page_event = _page(pdf, index, limits, ocr, allow_ocr=ocr_pages < limits.max_ocr_pages)
        except MemoryError:
            raise
        except Exception as exc:  # one unreadable page does not lose the others
            page_event = {
                "numero": index + 1,
                "methode": "vide",
                "motif": "page_illisible",
                "x": _describe(exc),
            }
        if page_event.get("methode") == "ocr":
            ocr_pages += 1
        if page_event.pop("ocr_refuse", False):
            motif = motif or "trop_de_pages_ocr"
        if page_event.get("motif") and motif is None:
            motif = page_event["motif"]
        room = limits.max_text_chars - chars
        if len(page_event.get("texte", "")) > room:
            page_event["texte"] = page_event["texte"][: max(room, 0)]
            page_event["motif"] = "texte_tronque"
            motif = "texte_tronque"
        chars += len(page_event.get("texte", ""))
        yield {"page": page_event}
        if motif == "texte_tronque":
            break
    ocr.close()
    yield {"fin": "partiel" if motif else "complet", "motif": motif}


def _page(pdf: Any, index: int, limits: ExtractionLimits, ocr: _Ocr, allow_ocr: bool) -> dict[str, Any]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    numero = index + 1
    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        return {"numero": numero, "methode": "vide", "texte": "", "motif": "page_illisible", "x": str(exc)}
    try:
        textpage = page.get_textpage()
        try:
            text = _clean(textpage.get_text_range())
        finally:
            textpage.close()
        if len("".join(text.split())) >= limits.min_text_chars:
            return {"numero": numero, "methode": "texte", "texte": text}
        has_image = any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3))
        if not has_image:
            return {"numero": numero, "methode": "texte" if text.strip() else "vide", "texte": text}
        if not allow_ocr:
            return {"numero": numero, "methode": "vide", "texte": text, "ocr_refuse": True}
        return ocr.page(page, numero)
    finally:
        page.close()


class _Ocr:
    """One Tesseract engine per extraction run (initialised on the first scanned page only)."""

    def __init__(self, limits: ExtractionLimits) -> None:
        self.limits = limits
        self.api: Any = None
        self.unavailable: str | None = None

    def page(self, page: Any, numero: int) -> dict[str, Any]:
        api = self._api()
        if api is None:
            return {"numero": numero, "methode": "vide", "texte": "", "motif": self.unavailable}
        width, height = page.get_size()
        scale = self.limits.ocr_dpi / 72.0
        pixels = width * height * scale * scale
        if pixels > self.limits.max_render_pixels:
            scale *= (self.limits.max_render_pixels / pixels) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True)
        started = time.monotonic()
        try:
            image = bitmap.to_pil()
            finished, text, confidences = self._recognize(api, image, self.limits.page_seconds)
            if finished and len("".join(text.split())) < self.limits.min_text_chars:
                # automatic layout analysis sometimes finds no block on a sparse page: retry as sparse text
                import tesserocr

                left = self.limits.page_seconds - (time.monotonic() - started)
                api.SetPageSegMode(tesserocr.PSM.SPARSE_TEXT)
                try:
                    if left > 0:
                        finished, text, confidences = self._recognize(api, image, left)
                finally:
                    api.SetPageSegMode(tesserocr.PSM.AUTO)
        finally:
            bitmap.close()
        event: dict[str, Any] = {
            "numero": numero,
            "methode": "ocr",
            "texte": text,
            "confiance": round(sum(confidences) / len(confidences), 1) if confidences else None,
        }
        if not finished:
            event["motif"] = "delai_page"
        return event

    @staticmethod
    def _recognize(api: Any, image: Any, seconds: float) -> tuple[bool, str, list[int]]:
        api.SetImage(image)
        finished = bool(api.Recognize(timeout=max(1, int(seconds * 1000))))
        text = _clean(api.GetUTF8Text() or "")
        return finished, text, [c for c in api.AllWordConfidences() if c >= 0]

    def _api(self) -> Any:
        if self.api is not None or self.unavailable is not None:
            return self.api
        self.api, self.unavailable = _tesseract(tessdata_dir(self.limits.tessdata_dir))
        return self.api

    def close(self) -> None:
        self.api = None  # the engine stays loaded for the next document (see _tesseract)


_TESSERACT: dict[str, Any] = {}


def _tesseract(path: str) -> tuple[Any, str | None]:
    """One Tesseract engine per process and model folder: loading the French model costs ~0.3 s, paid
    once per worker rather than once per document."""
    if path in _TESSERACT:
        return _TESSERACT[path], None
    try:
        import tesserocr
    except ImportError:
        return None, "ocr_indisponible"
    if not (Path(path) / "fra.traineddata").is_file():
        return None, "ocr_indisponible"
    try:
        api = tesserocr.PyTessBaseAPI(
            path=path, lang="fra", psm=tesserocr.PSM.AUTO, oem=tesserocr.OEM.LSTM_ONLY
        )
    except RuntimeError:
        return None, "ocr_indisponible"
    _TESSERACT[path] = api
    return api, None


def tessdata_dir(configured: str = "") -> str:
    """Where ``fra.traineddata`` lives: the setting, else the copy shipped in this package."""
    return configured or str(TESSDATA_DIR)


@lru_cache(maxsize=4)
def tessdata_sha256(configured: str = "") -> str:
    return hashlib.sha256((Path(tessdata_dir(configured)) / "fra.traineddata").read_bytes()).hexdigest()


def _open_error(exc: Exception) -> str:
    import pypdfium2.raw as pdfium_c

    code = getattr(exc, "err_code", None)
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return "pdf_chiffre"
    return "pdf_illisible"


def _clean(text: str) -> str:
    """PDFium line ends are ``\\r\\n``; drop NULs and other controls that would poison JSON or snippets."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "").replace("\x00", "")
    return "".join(ch for ch in text if ch >= " " or ch in "\n\t").strip()


class _Collector:
    """Turns events into an :class:`ExtractedText` (also when they stop early)."""

    def __init__(self, sha256: str) -> None:
        self.sha256 = sha256
        self.pages_total: int | None = None
        self.pages: list[PageText] = []
        self.fin: str | None = None
        self.motif: str | None = None
        self.detail: str | None = None

    def add(self, event: dict[str, Any]) -> None:
        if "pages_total" in event:
            self.pages_total = int(event["pages_total"])
        elif "page" in event:
            page = {k: v for k, v in event["page"].items() if k in PageText.model_fields}
            self.pages.append(PageText(**page))
        elif "fin" in event:
            self.fin, self.motif, self.detail = event["fin"], event.get("motif"), event.get("detail")

    def result(self, seconds: float, cut: tuple[str, str] | None = None) -> ExtractedText:
        statut, motif, detail = self.fin, self.motif, self.detail
        if cut is not None:  # the worker was stopped or died: keep what arrived
            statut, (motif, detail) = ("partiel" if self.pages else "echec"), cut
        if statut not in ("complet", "partiel", "echec"):
            statut, motif = "echec", motif or "interrompu"
        if statut == "echec" and self.pages:  # some pages were read before the failure: keep them
            statut = "partiel"
        elif statut == "partiel" and not self.pages:
            statut = "echec"
        kinds = {page.methode for page in self.pages if page.texte}
        methode: Methode = "aucune" if not kinds else ("mixte" if len(kinds) > 1 else kinds.pop())  # type: ignore[assignment]
        return ExtractedText(
            sha256=self.sha256,
            statut=statut,
            methode=methode,
            motif=motif,
            detail=detail,
            pages_total=self.pages_total,
            pages=self.pages,
            secondes=round(seconds, 3),
        )


# ------------------------------------------------------------------------------- isolation
class ExtractionWorker:
    """A reusable child process doing extractions, killed and restarted when a document overruns.

    Use as a context manager; :meth:`extract` never raises for a bad document. The child limits its own
    address space (``max_memory_mb``), so a decompression bomb ends in ``memoire`` instead of an OOM kill
    of the Lambda.
    """

    def __init__(self, limits: ExtractionLimits) -> None:
        self.limits = limits
        self._process: Any = None
        self._conn: Any = None
        self.restarts = 0
        self.grace_seconds = _GRACE_SECONDS
        self.startup_seconds = 60.0

    def __enter__(self) -> ExtractionWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def extract(self, data: bytes, sha256: str | None = None) -> ExtractedText:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        try:
            conn = self._ensure()
        except (OSError, EOFError, TimeoutError) as exc:
            self._kill()
            return _failure(digest, "plantage", f"démarrage du processus d'extraction : {exc}")
        started = time.monotonic()
        collector = _Collector(digest)
        deadline = started + self.limits.document_seconds + self.limits.page_seconds + self.grace_seconds
        try:
            conn.send_bytes(data)
        except (OSError, EOFError) as exc:
            self._kill()
            return collector.result(time.monotonic() - started, ("plantage", f"envoi : {exc}"))
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and conn.poll(remaining)
                if not ready:
                    self._kill()
                    return collector.result(time.monotonic() - started, ("delai_document", "arrêt forcé"))
                event = conn.recv()
            except (EOFError, OSError):
                code = self._reap()
                return collector.result(time.monotonic() - started, _exit_reason(code))
            collector.add(event)
            if "fin" in event:
                return collector.result(time.monotonic() - started)

    def _ensure(self) -> Any:
        if self._process is not None and self._process.poll() is None:
            return self._conn
        parent, child = socket.socketpair()
        code = f"from regate.search.extract import _worker_entry; _worker_entry({child.fileno()})"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        process = subprocess.Popen(
            [sys.executable, "-c", code, self.limits.model_dump_json()],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        child.close()
        conn = Connection(parent.detach())
        self._process, self._conn = process, conn
        if not conn.poll(self.startup_seconds) or conn.recv() != _READY:
            raise TimeoutError("le processus d'extraction ne répond pas")
        return conn

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            self.restarts += 1
        self._close_conn()

    def _reap(self) -> int | None:
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                code = self._process.wait(5)
            self.restarts += 1
        self._close_conn()
        return code

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                self._conn.send_bytes(b"")  # polite stop
                self._process.wait(2)
            except (OSError, EOFError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait(2)
        self._close_conn()


_MEMORY_EXIT = 86


def _exit_reason(code: int | None) -> tuple[str, str]:
    """Why the child died: PDFium aborts (SIGABRT) when an allocation fails under the memory limit."""
    if code == _MEMORY_EXIT:
        return "memoire", "MemoryError dans le processus d'extraction"
    if code is not None and code < 0:
        hint = " (allocation refusée sous la limite mémoire, probablement)" if code == -6 else ""
        return "plantage", f"processus d'extraction tué par le signal {-code}{hint}"
    return "plantage", f"processus d'extraction terminé (code {code})"


_READY = "pret"


def _worker_entry(fd: int) -> None:
    """Entry point of the child process (``python -c``): limits as JSON in ``argv[1]``."""
    _worker_main(Connection(fd), json.loads(sys.argv[1]))


def _worker_main(conn: Any, limits_data: dict[str, Any]) -> None:
    """Child process: one document per message (raw bytes), events back; empty message = stop."""
    limits = ExtractionLimits(**limits_data)
    import pypdfium2  # noqa: F401  (imports before the clock of the first document starts)

    with contextlib.suppress(ImportError):
        import tesserocr  # noqa: F401
    _limit_memory(limits.max_memory_mb)
    conn.send(_READY)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        try:
            for event in _events(data, limits):
                conn.send(event)
        except MemoryError:
            os._exit(_MEMORY_EXIT)
        except Exception as exc:  # a bug or a library error on a hostile file: report, keep serving
            conn.send({"fin": "echec", "motif": "erreur_extraction", "detail": _describe(exc)})


def _limit_memory(megabytes: int) -> None:
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform: the time budget still holds
        pass

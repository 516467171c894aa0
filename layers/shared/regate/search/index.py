"""The French full-text index (tantivy): one engine document per public act, sharded by SIREN.

* **Analysis** (``fr``): simple tokenizer (splits on non-alphanumerics, so ``l’école`` → ``l`` +
  ``école`` and ``Ille-et-Vilaine`` → 3 words), lowercase, French stopwords (removes the elided ``l d qu``
  while keeping positions, so phrases still line up), ASCII folding (``é`` = ``e``, ``œ`` = ``oe``), then
  the Snowball French stemmer. ``mots`` holds the folded unstemmed words (document ids only) to expand
  prefixes.
* **One engine document per act**: ``objet`` + ``numero``, the main document's text, each public annex as
  one value of ``texte_annexes`` (a phrase never spans two annexes). Ranking, counting and paging are
  therefore per act (an act matching in 3 annexes counts once); which document matched is decided per
  document for the hits shown (:mod:`regate.search.engine`).
* **Only public content**: :class:`IndexEntry` refuses an act whose decision is not public and documents
  of an act whose documents are not public (see :mod:`regate.search.documents`).
* A shard is a tantivy index directory; :class:`ShardWriter` applies one batch of changes (add, replace,
  delete an act) as one commit, without rebuilding anything else.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, model_validator

from regate.search.documents import NonPublic, PublicDocument, Role, require_public_document
from regate.search.extract import ExtractedText

SCHEMA_VERSION = 1
ENGINE = "tantivy"
_EPOCH = date(1970, 1, 1)


# ------------------------------------------------------------------------------------- entries
class IndexedDocument(BaseModel):
    """A public document of the act with its extracted text (from the text store)."""

    model_config = ConfigDict(frozen=True)

    document_id: str = Field(min_length=1, max_length=128)
    role: Role
    nom: str = Field(min_length=1, max_length=512)
    texte: str = ""
    methode: str | None = Field(default=None, description="texte | ocr | mixte | aucune")
    statut: str | None = Field(default=None, description="complet | partiel | echec (extraction)")
    annexe_publique: bool = Field(default=False, description="Required True for an annex")

    @model_validator(mode="after")
    def _public_annex(self) -> IndexedDocument:
        if self.role == "annexe" and not self.annexe_publique:
            raise NonPublic(f"annexe {self.document_id!r} non publique : non indexée")
        return self

    @classmethod
    def from_public(cls, document: PublicDocument, text: ExtractedText | None) -> IndexedDocument:
        """A public document and its text (``None`` when not extracted yet: indexed by name only)."""
        document = require_public_document(document)
        return cls(
            document_id=document.document_id,
            role=document.role,
            nom=document.nom,
            texte=text.texte if text is not None else "",
            methode=text.methode if text is not None else None,
            statut=text.statut if text is not None else None,
            annexe_publique=document.annexe_publique,
        )


class IndexEntry(BaseModel):
    """What the index knows of one public act (its metadata, and texts of its public documents).

    ``decision`` is the act's publication decision: ``publier`` (metadata and documents public) or
    ``metadonnees`` (metadata only: ``documents`` must then be empty). Anything else is refused —
    withheld acts are never indexed, not even "filtered out later".
    """

    model_config = ConfigDict(frozen=True)

    acte_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    siren: str = Field(pattern=r"^\d{9}$")
    decision: Literal["publier", "metadonnees"]
    objet: str
    numero: str | None = None
    nature: int | None = Field(default=None, ge=1, le=9)
    matiere_code: str | None = Field(default=None, pattern=r"^\d{1,2}(\.\d{1,2}){0,4}$")
    date_acte: date | None = None
    date_publication: date | None = None
    documents: tuple[IndexedDocument, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _public_only(cls, values: Any) -> Any:
        if isinstance(values, dict):
            decision = values.get("decision")
            if decision not in ("publier", "metadonnees"):
                raise NonPublic(f"acte {values.get('acte_id')!r} : décision {decision!r}, non indexé")
            if decision == "metadonnees" and values.get("documents"):
                raise NonPublic(f"acte {values.get('acte_id')!r} : documents non publics, non indexés")
        return values

    @model_validator(mode="after")
    def _one_main(self) -> IndexEntry:
        if sum(1 for d in self.documents if d.role == "acte") > 1:
            raise ValueError("un seul document principal (role=acte) par acte")
        return self

    @classmethod
    def declare(cls, **values: Any) -> IndexEntry:
        """Like the constructor, but a non-public act raises :class:`NonPublic` (not a ValidationError)."""
        decision = values.get("decision")
        if decision not in ("publier", "metadonnees"):
            raise NonPublic(f"acte {values.get('acte_id')!r} : décision {decision!r}, non indexé")
        if decision == "metadonnees" and values.get("documents"):
            raise NonPublic(f"acte {values.get('acte_id')!r} : documents non publics, non indexés")
        return cls(**values)


@overload
def days(value: date) -> int: ...
@overload
def days(value: None) -> None: ...
@overload
def days(value: date | None) -> int | None: ...
def days(value: date | None) -> int | None:
    return None if value is None else (value - _EPOCH).days


def from_days(value: int | None) -> date | None:
    return None if value is None else date.fromordinal(_EPOCH.toordinal() + int(value))


def matiere_path(code: str | None) -> list[str]:
    """``"7.1.2"`` → ``["7", "7.1", "7.1.2"]``: a matière filter ``7.1`` matches 7.1 and below, not 7.10."""
    if not code:
        return []
    parts = code.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def shard_of(siren: str, shards: int) -> str:
    """Stable shard of a SIREN (hash, so shards stay balanced); a collectivité lives in one shard."""
    number = int(hashlib.sha256(siren.encode()).hexdigest()[:8], 16) % shards
    return f"{number:0{max(2, len(str(shards - 1)))}d}"


# ------------------------------------------------------------------------------------- analysis
def analyzers() -> dict[str, Any]:
    """The named analyzers; registered again on every open (tantivy does not persist them)."""
    from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

    french = (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(60))
        .filter(Filter.lowercase())
        .filter(Filter.stopword("french"))
        .filter(Filter.ascii_fold())
        .filter(Filter.stemmer("french"))
        .build()
    )
    folded = (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(60))
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
        .build()
    )
    return {"fr": french, "mots": folded}


_ANALYZERS: dict[str, Any] = {}


def analyzer(name: str) -> Any:
    if not _ANALYZERS:
        _ANALYZERS.update(analyzers())
    return _ANALYZERS[name]


def build_schema() -> Any:
    from tantivy import SchemaBuilder

    builder = SchemaBuilder()
    builder.add_text_field("acte_id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("siren", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("matiere", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("nature", indexed=True, fast=True)
    builder.add_integer_field("date_acte", indexed=True, fast=True)
    builder.add_integer_field("date_publication", indexed=True, fast=True)
    builder.add_text_field("numero", stored=True, tokenizer_name="fr")
    builder.add_text_field("objet", stored=True, tokenizer_name="fr")
    builder.add_text_field("texte_acte", stored=True, tokenizer_name="fr")
    builder.add_text_field("texte_annexes", stored=True, tokenizer_name="fr")
    builder.add_text_field("mots", stored=False, tokenizer_name="mots", index_option="basic")
    builder.add_bytes_field("meta", stored=True)
    return builder.build()


def to_document(entry: IndexEntry) -> Any:
    """The engine document of an act (metadata for display go in ``meta`` as JSON)."""
    from tantivy import Document

    doc = Document()
    doc.add_text("acte_id", entry.acte_id)
    doc.add_text("siren", entry.siren)
    for prefix in matiere_path(entry.matiere_code):
        doc.add_text("matiere", prefix)
    if entry.nature is not None:
        doc.add_integer("nature", entry.nature)
    if entry.date_acte is not None:
        doc.add_integer("date_acte", days(entry.date_acte))
    if entry.date_publication is not None:
        doc.add_integer("date_publication", days(entry.date_publication))
    if entry.numero:
        doc.add_text("numero", entry.numero)
    doc.add_text("objet", entry.objet)
    words = [entry.objet]
    annexes = []
    for document in entry.documents:
        if document.role == "acte":
            doc.add_text("texte_acte", document.texte)
        else:
            doc.add_text("texte_annexes", document.texte)
            annexes.append(document)
        words.append(document.texte)
    doc.add_text("mots", "\n".join(words))
    main = [d for d in entry.documents if d.role == "acte"]
    meta = {
        "siren": entry.siren,
        "nature": entry.nature,
        "matiere_code": entry.matiere_code,
        "date_acte": entry.date_acte.isoformat() if entry.date_acte else None,
        "date_publication": entry.date_publication.isoformat() if entry.date_publication else None,
        "decision": entry.decision,
        "empreinte": entry_digest(entry),
        # display order: main document first, then annexes in the order of texte_annexes values
        "documents": [
            {"document_id": d.document_id, "role": d.role, "nom": d.nom, "methode": d.methode}
            for d in [*main, *annexes]
        ],
    }
    doc.add_bytes("meta", json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode())
    return doc


def entry_digest(entry: IndexEntry) -> str:
    """Digest of everything indexed for an act: an unchanged act is not written again."""
    payload = entry.model_dump_json().encode() + f"|schema={SCHEMA_VERSION}".encode()
    return hashlib.sha256(payload).hexdigest()[:32]


# ------------------------------------------------------------------------------------- shards
def open_index(path: Path, create: bool = False) -> Any:
    """Open (or create) a shard directory, with the analyzers registered (they are not persisted)."""
    from tantivy import Index

    path.mkdir(parents=True, exist_ok=True)
    if (path / "meta.json").exists():
        index = Index.open(str(path))
    elif create:
        index = Index(build_schema(), path=str(path))
    else:
        raise FileNotFoundError(f"pas d'index dans {path}")
    for name, value in analyzers().items():
        index.register_tokenizer(name, value)
    return index


class ShardWriter:
    """Applies batches of changes to one local shard directory (one commit per batch)."""

    def __init__(self, path: Path, heap_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.heap_bytes = heap_bytes
        self.index = open_index(path, create=True)

    def pending(
        self, upserts: Iterable[IndexEntry] = (), deletes: Iterable[str] = ()
    ) -> tuple[list[IndexEntry], list[str]]:
        """The changes that would change the shard: an act already indexed with the same digest, or a
        deletion of an act that is not there, are dropped (so replaying a batch writes nothing)."""
        from tantivy import Query

        searcher = self.index.searcher()
        schema = build_schema()

        def stored(acte_id: str) -> list[Any]:
            found = searcher.search(Query.term_query(schema, "acte_id", acte_id), 2)
            return [searcher.doc(address) for _score, address in found.hits]

        changed = []
        for entry in upserts:
            docs = stored(entry.acte_id)
            if len(docs) == 1:
                meta = json.loads(bytes(docs[0].get_first("meta")))
                if meta.get("empreinte") == entry_digest(entry):
                    continue
            changed.append(entry)
        removed = [acte_id for acte_id in deletes if stored(acte_id)]
        return changed, removed

    def apply(self, upserts: Iterable[IndexEntry] = (), deletes: Iterable[str] = ()) -> int:
        """Delete then (re)add acts in one commit; returns the number of acts added."""
        writer = self.index.writer(self.heap_bytes, 1)
        added = 0
        try:
            for acte_id in deletes:
                writer.delete_documents_by_term("acte_id", acte_id)
            for entry in upserts:
                writer.delete_documents_by_term("acte_id", entry.acte_id)
                writer.add_document(to_document(entry))
                added += 1
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        writer.wait_merging_threads()
        self.index.reload()
        return added


def referenced_files(path: Path) -> list[str]:
    """The segment files the shard's current ``meta.json`` needs (what must be on S3 for it)."""
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    names: list[str] = []
    present = {p.name for p in path.iterdir() if p.is_file()}
    for segment in meta.get("segments", []):
        uuid = segment["segment_id"].replace("-", "")
        deletes = segment.get("deletes")
        delete_name = f"{uuid}.{deletes['opstamp']}.del" if deletes else None
        for name in present:
            if not name.startswith(uuid + "."):
                continue
            if name.endswith(".del") and name != delete_name:
                continue
            names.append(name)
        if delete_name and delete_name not in present:
            raise FileNotFoundError(f"{delete_name} manquant dans {path}")
    return sorted(names)


def reset_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def build_local_shards(
    entries: Iterable[IndexEntry], root: Path, shards: int, heap_bytes: int = 48 * 1024 * 1024
) -> dict[str, int]:
    """Full build of every shard under ``root/{shard}`` (first load, bench); returns acts per shard."""
    from tantivy import Index

    writers: dict[str, Any] = {}
    indexes: dict[str, Any] = {}
    counts: dict[str, int] = {}
    schema = build_schema()
    try:
        for entry in entries:
            shard = shard_of(entry.siren, shards)
            writer = writers.get(shard)
            if writer is None:
                reset_dir(root / shard)
                index = Index(schema, path=str(root / shard))
                for name, value in analyzers().items():
                    index.register_tokenizer(name, value)
                indexes[shard] = index
                writer = writers[shard] = index.writer(heap_bytes, 1)
            writer.add_document(to_document(entry))
            counts[shard] = counts.get(shard, 0) + 1
        for writer in writers.values():
            writer.commit()
    finally:
        for writer in writers.values():
            writer.wait_merging_threads()
    return counts


def shard_names(shards: int) -> Sequence[str]:
    width = max(2, len(str(shards - 1)))
    return [f"{n:0{width}d}" for n in range(shards)]

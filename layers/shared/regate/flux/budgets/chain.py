"""Budget acts in the normal chain: a captured act of nature 5 whose main file is a TOTEM XML becomes
budget lines, curated SCDL budget files and Parquet, beside the act's own record.

Per act (:func:`budget_of_act`, called by the normaliser before the record is built):

* the TOTEM XML is recognised by its content (``read_totem``: secure parse, no entities); a PDF budget, or
  any other file, stays a document with no rows;
* the raw XML is **never** public (its annexes can hold personal data): it is removed from the act the
  record is built from, so only the PDF maquette (annexes) follows the act's decision;
* the entry ``budgets/_documents/{siren}/{exercice}/{id_e}.{id_d}.json`` keeps the metadata, the act's
  decision and the converted lines (written only when changed).

Per (SIREN, exercice) (:func:`rebuild_budget_partition`, under the same optimistic manifest loop as the
délibérations partitions): every entry is read, the latest sealed version per (budget, stage) wins over
**all** entries (a withheld newer version hides the older public one: fail closed), then

* ``scdl/budgets/{siren}/{annee}.csv``: the winners whose decision is ``publier``/``metadonnees``,
  validated in strict mode before writing (an invalid file is never written: the previous one is removed
  and the reason reported);
* ``budgets/lignes/siren=…/annee=…/data.parquet`` (every winner) and
  ``public/budgets/lignes/siren=…/annee=…/data.parquet`` (public winners).

:func:`rebuild_budget_national` concatenates the per-SIREN files of a year into
``scdl/budgets/all/{annee}.csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from regate.flux.budgets.model import BudgetLine, TotemMetadata
from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical

BUDGET_NATURE = 5
#: fields that may carry the TOTEM XML (the original ``arrete``; a stamped copy is always a PDF)
TOTEM_FIELDS = ("arrete",)
PUBLIC_DECISIONS = frozenset({"publier", "metadonnees"})


class BudgetEntry(BaseModel):
    """One budget act, converted (the stored entry of the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    id_e: str
    id_d: str
    siren: str
    exercice: int
    decision: str
    fichier: str  # name of the TOTEM file (never published)
    metadata: TotemMetadata
    lignes_rejetees: int = 0
    lignes: list[BudgetLine]

    @property
    def key(self) -> str:
        return layout.budget_document_key(self.siren, self.exercice, self.id_e, self.id_d)

    @property
    def public(self) -> bool:
        return self.decision in PUBLIC_DECISIONS


@dataclass
class BudgetOfAct:
    """What :func:`budget_of_act` found: the act to build the record from (TOTEM file removed), the entry
    (``None`` when the file was not a usable TOTEM) and warnings ``(code, message)``."""

    acte: Any
    entry: BudgetEntry | None
    warnings: list[tuple[str, str]] = field(default_factory=list)


def budget_of_act(acte: Any, decision: str, read_file: Callable[[str], bytes]) -> BudgetOfAct | None:
    """``None`` unless ``acte`` is of nature 5 with a TOTEM XML among its ``arrete`` files."""
    from regate.flux.budgets.convert import convert_document
    from regate.flux.budgets.plans import PlanIntrouvable
    from regate.flux.budgets.totem import TotemInvalide, TotemLu, read_totem

    if acte.nature != BUDGET_NATURE:
        return None
    for fichier in sorted((f for f in acte.fichiers if f.field in TOTEM_FIELDS), key=lambda f: f.num):
        data = read_file(fichier.key)
        head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"<"):
            continue  # a PDF (or anything not XML): a document, no rows
        without = acte.model_copy(update={"fichiers": [f for f in acte.fichiers if f != fichier]})
        lu = read_totem(data)
        if isinstance(lu, TotemInvalide) or not isinstance(lu, TotemLu):
            message = getattr(lu, "message", "fichier illisible")
            return BudgetOfAct(without, None, [("totem_invalide", f"{fichier.name} : {message}")])
        try:
            conversion = convert_document(lu, document_id=f"{acte.id_e}.{acte.id_d}")
        except PlanIntrouvable as exc:
            return BudgetOfAct(without, None, [("totem_plan_introuvable", f"{fichier.name} : {exc}")])
        warnings: list[tuple[str, str]] = []
        if lu.metadata.siren != acte.siren:
            warnings.append(
                ("totem_autre_siren", f"{fichier.name} : SIRET {lu.metadata.siret} hors SIREN {acte.siren}")
            )
        rejected = len(conversion.rapport.lignes_rejetees)
        if rejected:
            warnings.append(("totem_lignes_rejetees", f"{fichier.name} : {rejected} ligne(s) écartée(s)"))
        entry = BudgetEntry(
            id_e=acte.id_e,
            id_d=acte.id_d,
            siren=acte.siren,
            exercice=lu.metadata.exercice,
            decision=decision,
            fichier=fichier.name,
            metadata=lu.metadata,
            lignes_rejetees=rejected,
            lignes=conversion.lignes,
        )
        return BudgetOfAct(without, entry, warnings)
    return None


def warnings_of(budget: BudgetOfAct | None) -> list[tuple[str, str]]:
    return budget.warnings if budget is not None else []


def entry_body(entry: BudgetEntry) -> bytes:
    return dumps_canonical(entry.model_dump(mode="json"))


# ------------------------------------------------------------------------------ partitions
@dataclass
class BudgetPartitionResult:
    siren: str
    annee: int
    documents: int = 0
    public_documents: int = 0
    scdl_rows: int = 0
    csv_changed: bool = False
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # "id_e/id_d" of versions replaced by a later sealing
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, message)
    attempts: int = 1


def _put_or_delete(store: ObjectStore, key: str, body: bytes | None, content_type: str, result: Any) -> bool:
    if body is None:
        if store.delete(key):
            result.deleted.append(key)
            return True
        return False
    if store.put_if_changed(key, body, content_type=content_type).written:
        result.written.append(key)
        return True
    return False


def _load_entries(store: ObjectStore, keys: list[str], result: BudgetPartitionResult) -> list[BudgetEntry]:
    entries = []
    for key in keys:
        found = store.get_with_etag(key)
        if found is None:
            continue
        try:
            entries.append(BudgetEntry.model_validate_json(found[0]))
        except ValidationError as exc:
            result.problems.append(("budget_entree_illisible", f"{key} : {str(exc)[:300]}"))
    return entries


def build_budget_outputs(
    entries: list[BudgetEntry], result: BudgetPartitionResult
) -> tuple[bytes | None, bytes | None, bytes | None]:
    """(SCDL CSV or ``None``, internal Parquet or ``None``, public Parquet or ``None``) of the entries."""
    from regate.flux.budgets.model import budget_lines_table
    from regate.flux.budgets.scdl import budget_sort_key, validate_budget_csv, write_budget_csv
    from regate.flux.budgets.selection import latest_sealed
    from regate.normalize.parquet import parquet_bytes

    entries = sorted(entries, key=lambda e: (e.id_e, e.id_d))
    selection = latest_sealed(entries, metadata=lambda e: e.metadata)
    result.replaced = [f"{old.id_e}/{old.id_d}" for old, _new in selection.remplaces]
    kept = selection.gardes
    result.documents = len(kept)
    public = [e for e in kept if e.public]
    result.public_documents = len(public)
    lines = sorted((line for e in kept for line in e.lignes), key=budget_sort_key)
    public_lines = sorted((line for e in public for line in e.lignes), key=budget_sort_key)
    csv: bytes | None = None
    if public_lines:
        csv = write_budget_csv(public_lines, sort=False)
        report = validate_budget_csv(csv, strict=True)
        if not report.valid:
            errors = "; ".join(str(getattr(e, "message", e)) for e in list(report.errors)[:3])
            result.problems.append(("budget_scdl_invalide", f"{result.siren}/{result.annee} : {errors}"))
            csv = None
        else:
            result.scdl_rows = len(public_lines)
    internal = parquet_bytes(budget_lines_table(lines)) if lines else None
    public_parquet = parquet_bytes(budget_lines_table(public_lines)) if public_lines else None
    return csv, internal, public_parquet


def rebuild_budget_partition(
    store: ObjectStore, siren: str, annee: int, max_attempts: int = 500
) -> BudgetPartitionResult:
    """Rebuild the SCDL file and Parquet of one (SIREN, exercice) from all its entries."""
    from regate.normalize.partitions import serialised

    prefix = layout.budget_document_prefix(siren, annee)

    def build() -> tuple[dict[str, Any], Callable[[], BudgetPartitionResult]]:
        sources = {item["Key"]: item["ETag"] for item in store.list_objects(prefix)}

        def write() -> BudgetPartitionResult:
            result = BudgetPartitionResult(siren=siren, annee=annee)
            entries = _load_entries(store, sorted(sources), result)
            csv, internal, public = build_budget_outputs(entries, result)
            csv_type = "text/csv; charset=utf-8"
            result.csv_changed = _put_or_delete(
                store, layout.scdl_budgets_key(siren, annee), csv, csv_type, result
            )
            parquet = "application/vnd.apache.parquet"
            _put_or_delete(store, layout.budgets_parquet_key(siren, annee), internal, parquet, result)
            _put_or_delete(
                store, layout.budgets_parquet_key(siren, annee, public=True), public, parquet, result
            )
            return result

        return {"sources": sources}, write

    result, attempts = serialised(
        store, layout.budget_partition_manifest_key(siren, annee), build, max_attempts
    )
    result.attempts = attempts
    return result


def _national_parquet(store: ObjectStore, keys: list[str]) -> bytes | None:
    """The public Parquet of every SIREN of a year in one file, one row group per SIREN (in SIREN order):
    streamed, one partition in memory at a time; same writer options as ``normalize.parquet``."""
    import io

    import pyarrow.parquet as pq

    from regate.flux.budgets.model import budget_lines_schema

    sink = io.BytesIO()
    rows = 0
    with pq.ParquetWriter(
        sink, budget_lines_schema(), compression="zstd", compression_level=3, use_dictionary=True,
        write_statistics=True, version="2.6", data_page_version="1.0",
    ) as writer:  # fmt: skip
        for key in keys:
            found = store.get_with_etag(key)
            if found is None:
                continue
            table = pq.read_table(io.BytesIO(found[0]))
            writer.write_table(table.cast(budget_lines_schema()), row_group_size=max(len(table), 1))
            rows += len(table)
    return sink.getvalue() if rows else None


def rebuild_budget_national(store: ObjectStore, annee: int, max_attempts: int = 500) -> BudgetPartitionResult:
    """``scdl/budgets/all/{annee}.csv``: header + every SIREN's file of the year (validated), by SIREN; and
    ``public/budgets/national/annee={annee}/data.parquet``: every public line of the year (API, no SIREN)."""
    from regate.flux.budgets.scdl import SCDL_BUDGET_COLUMNS
    from regate.normalize.partitions import serialised

    def build() -> tuple[dict[str, Any], Callable[[], BudgetPartitionResult]]:
        sources: dict[str, tuple[str, str]] = {}
        for item in store.list_objects(layout.SCDL_BUDGETS_PREFIX):
            parsed = layout.parse_scdl_budgets_key(item["Key"])
            if parsed and parsed[0] != layout.NATIONAL and parsed[1] == int(annee):
                sources[parsed[0]] = (item["Key"], item["ETag"])
        parquets: dict[str, tuple[str, str]] = {}
        for item in store.list_objects(layout.PUBLIC_BUDGETS_PARQUET_PREFIX):
            found_key = layout.parse_partition_key(item["Key"])
            if found_key and found_key[1] == int(annee) and item["Key"].endswith("/data.parquet"):
                parquets[found_key[0]] = (item["Key"], item["ETag"])

        def write() -> BudgetPartitionResult:
            result = BudgetPartitionResult(siren=layout.NATIONAL, annee=annee)
            expected = ",".join(SCDL_BUDGET_COLUMNS).encode()
            bodies: list[bytes] = []
            for siren in sorted(sources):
                found = store.get_with_etag(sources[siren][0])
                if found is None:
                    continue
                head, _, body = found[0].partition(b"\n")
                if head.rstrip(b"\r") != expected:
                    raise ValueError(f"En-tête SCDL budget inattendu : {sources[siren][0]}")
                bodies.append(body)
                result.scdl_rows += body.count(b"\n")
            body_all = expected + b"\r\n" + b"".join(bodies) if bodies else None
            key = layout.scdl_budgets_national_key(annee)
            result.csv_changed = _put_or_delete(store, key, body_all, "text/csv; charset=utf-8", result)
            national = _national_parquet(store, [parquets[siren][0] for siren in sorted(parquets)])
            parquet_key = layout.budgets_national_parquet_key(annee)
            _put_or_delete(store, parquet_key, national, "application/vnd.apache.parquet", result)
            return result

        manifest = {siren: etag for siren, (_k, etag) in sources.items()}
        manifest.update({f"parquet:{siren}": etag for siren, (_k, etag) in parquets.items()})
        return {"sources": manifest}, write

    result, attempts = serialised(
        store, layout.budget_partition_manifest_key(layout.NATIONAL, annee), build, max_attempts
    )
    result.attempts = attempts
    return result

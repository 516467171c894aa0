"""The normaliser: raw documents → per-act records → per-partition outputs (SCDL CSV, Parquet).

Three entry points share the same steps: :meth:`Normalizer.handle_key` (S3 event, one document),
:meth:`Normalizer.run_pending` (``regate normalize``: what changed since the records were built, plus
deletions) and :meth:`Normalizer.rebuild_all` (``regate rebuild``: the whole curated zone from raw).

Per document the order is chosen so a crash at any point is repaired by a replay: public copies of
new documents, deletion of documents no longer public (privacy first), record, partition rebuild(s),
and only then the pointer ``records/_by_document/…`` that marks the document as done.

A record is stale when its raw version changed **or** when the inputs of its decision changed: the pointer
keeps a digest of them (the collectivité's row of ``config/collectivites.csv``, the matching override, the
flux's code table, the rules version, the public base URL, the back-office objects of the act and of its
collectivité), so a takedown in an operator file or in the back-office, or a flux definition captured late,
is applied by the next ``regate normalize`` — and, in AWS, by the S3 event on the file or object
(:meth:`Normalizer.refresh_sirens`, :meth:`Normalizer.refresh_flux`).

Back-office objects (``config/decisions/…``, ``config/collectivites/{siren}.json``, written by the write API)
are folded with ``config/overrides.csv`` and ``config/collectivites.csv`` by :mod:`regate.admin.fold`
("the more restrictive wins"), read once per SIREN and per run (:meth:`Normalizer.admin_inputs`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, ValidationError

from regate.actes.model import ActeInvalide, Fichier, acte_from_raw, withdrawal_reason
from regate.admin.fold import DecisionInputs, load_decision_inputs
from regate.capture.envelope import RawDocument
from regate.clock import Clock, SystemClock, utc_iso
from regate.flux.budgets import chain as budgets
from regate.normalize.decision import (
    DECISION_RULES_VERSION,
    CodeTable,
    Override,
    Overrides,
    code_table_from_flux_definition,
    decide,
    megalis_code_table,
    parse_overrides,
)
from regate.normalize.documents import (
    apply_missing_files,
    delete_documents,
    missing_file_warnings,
    public_key,
    publish_documents,
)
from regate.normalize.lake import LakeOptions, mark_pending, rebuild_lake, run_pending_step
from regate.normalize.parquet import row_problem
from regate.normalize.partitions import (
    PARTITION_STATE_PREFIX,
    SHARED_RECORD_CACHE,
    PartitionResult,
    rebuild_national,
    rebuild_partition,
)
from regate.normalize.quarantine import QuarantineEntry, clear_quarantine, put_quarantine
from regate.normalize.records import ActeRecord, Avertissement, acte_bounds_problem, acte_id_of, build_record
from regate.normalize.reports import ActeItem, PartitionItem, RunReport, WarningItem
from regate.normalize.search_stage import SearchStage, apply_stage
from regate.operator_files import FileProblem, LoadedFile, load_last_good
from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical, sha256_hex

Partition = tuple[str, int]
_POINTERS_PREFIX = f"{layout.RECORDS_PREFIX}_by_document/"


class Directory(Protocol):
    """What the normaliser needs from :class:`regate.collectivites.CollectiviteDirectory`."""

    def describe(self, siren: str, pastell_denomination: str | None = None) -> Any: ...

    def config(self, siren: str) -> Any: ...


class Pointer(BaseModel):
    """``records/_by_document/{id_e}/{id_d}.json``: where the record lives, what it was built from."""

    record_key: str
    siren: str
    annee: int
    raw_version: str | None = None
    raw_etag: str | None = None
    record_sha256: str | None = None
    documents: list[str] = []
    flux: str | None = None
    numero: str | None = None
    inputs_sha256: str | None = Field(default=None, description="Digest of the decision inputs (see module)")
    awaiting_flux: bool = Field(default=False, description="Decided table_absente: marker under _state/")
    budget_key: str | None = Field(default=None, description="budgets/_documents/… entry of a TOTEM act")


@dataclass(frozen=True)
class TableLookup:
    """The ``publication_open_data`` code table of a flux, as the decision sees it.

    ``state``: ``flux`` (the definition's own options), ``sans_table`` (a definition without options: the
    fallback table), ``absente`` (no readable definition: a non-empty code is ``table_absente``).
    """

    table: CodeTable | None
    state: Literal["flux", "sans_table", "absente"]
    digest: str
    file: LoadedFile


def parse_flux_definition(data: bytes | None) -> tuple[dict[str, Any] | None, list[FileProblem]]:
    """Raw ``pastell-flux/{flux}.json`` → the definition (``None`` = no file), or an ``error`` problem."""
    if data is None:
        return None, []
    try:
        definition = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [FileProblem(line=None, code="json_invalide", message=str(exc)[:200])]
    if not isinstance(definition, dict):
        return None, [
            FileProblem(
                line=None, code="definition_invalide", message="not a JSON object (field → properties)"
            )
        ]
    return definition, []


@dataclass
class DocumentOutcome:
    """What normalising one document touched; ``commit`` runs once the partitions are rebuilt."""

    touched: set[Partition] = field(default_factory=set)
    commit: Callable[[], None] | None = None
    record: ActeRecord | None = None
    document_keys: set[str] = field(default_factory=set)
    budgets: set[Partition] = field(default_factory=set)  # (siren, exercice) of budget files to rebuild
    search_retired: set[tuple[str, str]] = field(default_factory=set)  # (siren, acte_id) out of the index


class Normalizer:
    """Normalises raw documents into the curated bucket (thread-safe enough: one per worker thread)."""

    def __init__(
        self,
        raw: ObjectStore,
        curated: ObjectStore,
        *,
        public_base_url: str,
        directory: Directory,
        overrides: Overrides | None = None,
        clock: Clock | None = None,
        max_attempts: int = 500,
        min_year: int = 1900,
        max_year: int = 2100,
        max_versions: int = 50,
        operator_files: list[LoadedFile] | None = None,
        lake: LakeOptions | None = None,
    ) -> None:
        self.raw = raw
        self.curated = curated
        self.public_base_url = public_base_url
        self.directory = directory
        self.overrides = overrides or Overrides()
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.min_year, self.max_year = min_year, max_year
        self.max_versions = max_versions
        self.cache = SHARED_RECORD_CACHE
        self._code_tables: dict[str, TableLookup] = {}
        self._lock = threading.Lock()
        self._matched_overrides: set[int] = set()
        self._unpublished = False  # an act may have left the public dataset in this run
        self.left_public = False  # same, never reset: the read step then runs at once (privacy first)
        self.lake = lake or LakeOptions()
        #: the operator files as loaded (status ``last_good`` / ``unreadable`` = refused: loud)
        self.operator_files: list[LoadedFile] = list(operator_files or [])
        self.blocked = _blocked_motif(self.operator_files)
        #: back-office decisions folded with the CSV overrides, per SIREN (read once per run)
        self._admin: dict[str, DecisionInputs] = {}
        self._admin_refused: list[LoadedFile] = []
        #: full-text index kept in line batch by batch (:mod:`.search_stage`); None = not indexed
        self.search: SearchStage | None = None

    # ------------------------------------------------------------------------- construction
    @classmethod
    def from_stores(
        cls,
        raw: ObjectStore,
        curated: ObjectStore,
        settings: Any,
        *,
        directory: Directory | None = None,
        clock: Clock | None = None,
        report: RunReport | None = None,
    ) -> Normalizer:
        """Load the operator files (collectivités, overrides) from the curated bucket.

        A refused file (unreadable current version) is replaced by its last good S3 version and reported as
        an **error**; when no version is readable every decision is withheld (``a_statuer``).
        """
        max_versions = getattr(settings, "operator_file_max_versions", 50)
        files: list[LoadedFile] = []
        if directory is None:
            from regate.collectivites import CollectiviteDirectory

            directory, _problems = CollectiviteDirectory.from_store(curated, settings, clock=clock)
        config_file = getattr(directory, "config_file", None)
        if isinstance(config_file, LoadedFile):
            files.append(config_file)
        loaded = load_last_good(curated, layout.CONFIG_OVERRIDES_KEY, parse_overrides, max_versions)
        files.append(loaded.file)
        if report is not None:
            for file in files:
                report_operator_file(file, report)
        normalizer = cls(
            raw,
            curated,
            public_base_url=settings.public_base_url,
            directory=directory,
            overrides=loaded.value,
            clock=clock,
            min_year=getattr(settings, "normalize_min_year", 1900),
            max_year=getattr(settings, "normalize_max_year", 2100),
            max_versions=max_versions,
            operator_files=files,
            lake=LakeOptions.from_settings(settings),
        )
        if hasattr(settings, "search_shards"):
            normalizer.search = SearchStage.from_settings(raw, curated, settings)
        return normalizer

    def refused_inputs(self) -> list[LoadedFile]:
        """Operator files and flux definitions whose current version could not be used (exit code, alarm)."""
        tables = [t.file for t in self._code_tables.values() if t.file.refused]
        return [f for f in self.operator_files if f.refused] + tables + list(self._admin_refused)

    def admin_inputs(self, siren: str, report: RunReport | None = None) -> DecisionInputs:
        """The back-office objects of ``siren`` folded with the CSV overrides (one LIST + one HEAD, then
        one GET per object; an unreadable object fails closed and is reported as a refused input)."""
        with self._lock:
            found = self._admin.get(siren)
        if found is not None:
            return found
        try:
            found = load_decision_inputs(self.curated, self.overrides, sirens=[siren])
        except ValueError:  # not a SIREN: no object can be stored for it (acts are checked before)
            found = DecisionInputs(overrides=self.overrides)
        with self._lock:
            if siren in self._admin:
                return self._admin[siren]
            self._admin[siren] = found
            for problem in found.problemes:
                status = "last_good" if problem.code == "illisible_version_precedente" else "unreadable"
                self._admin_refused.append(LoadedFile(key=problem.cle, status=status))
        if report is not None:
            for problem in found.problemes:
                report.add(
                    "errors",
                    WarningItem(
                        code=f"decision_back_office:{problem.code}",
                        message=f"{problem.cle}: {problem.message}",
                    ),
                )
        return found

    def code_table(self, flux: str, report: RunReport | None = None) -> TableLookup:
        """The flux's own ``publication_open_data`` table, from the newest readable definition in raw."""
        found = self._code_tables.get(flux)
        if found is not None:
            return found
        try:
            key = layout.flux_definition_key(flux)
        except ValueError:
            key = None
        if key is None:
            loaded_file = LoadedFile(key=f"{layout.FLUX_DEFINITION_PREFIX}?", status="absent")
            definition = None
        else:
            loaded = load_last_good(self.raw, key, parse_flux_definition, self.max_versions)
            definition, loaded_file = loaded.value, loaded.file
        if definition is None:
            table, state = None, "absente"
        else:
            table = code_table_from_flux_definition(definition)
            state = "flux" if table is not None else "sans_table"
            table = table or megalis_code_table()
        digest = sha256_hex(dumps_canonical({"state": state, "table": table.model_dump() if table else None}))
        lookup = TableLookup(table, state, digest, loaded_file)  # type: ignore[arg-type]
        with self._lock:
            first = flux not in self._code_tables
            self._code_tables[flux] = lookup
        if first and report is not None and loaded_file.refused:
            report.add(
                "errors",
                WarningItem(code=f"flux_definition:{loaded_file.status}", message=loaded_file.summary()),
            )
        return lookup

    def decision_inputs(
        self, siren: str, id_d: str, numero: str | None, flux: str | None, report: RunReport | None = None
    ) -> tuple[str, Override | None]:
        """Digest of everything outside the raw document that the record depends on (module docstring)."""
        config = self.directory.config(siren)
        dump = config.model_dump(mode="json") if hasattr(config, "model_dump") else repr(config)
        admin = self.admin_inputs(siren, report)
        override = admin.overrides.find(siren, id_d, numero)
        if override is not None:
            with self._lock:
                self._matched_overrides.add(override.line)
        table = self.code_table(flux, report).digest if flux else None
        payload = {
            "rules": DECISION_RULES_VERSION,
            "blocked": self.blocked,
            "config": dump,
            "override": [override.decision, override.motif] if override else None,
            "table": table,
            "public_base_url": self.public_base_url,
            "years": [self.min_year, self.max_year],
        }
        if (siren, id_d) in admin.actes or (siren, id_d) in admin.annexes or siren in admin.reglages:
            payload["back_office"] = admin.digest(siren, id_d)  # absent otherwise: digests stay as they were
        return sha256_hex(dumps_canonical(payload)), override

    def report_unmatched_overrides(self, report: RunReport, sirens: set[str] | None = None) -> None:
        """An override that matched no act is probably a typo (wrong SIREN, id_d or numéro): say so."""
        for item in self.overrides.all():
            if item.line in self._matched_overrides or (sirens is not None and item.siren not in sirens):
                continue
            report.add(
                "warnings",
                WarningItem(
                    code="config_overrides:override_sans_acte",
                    message=f"{layout.CONFIG_OVERRIDES_KEY} {item.label}: aucun acte normalisé ne correspond",
                ),
            )

    # ---------------------------------------------------------------------- one document
    def normalize_document(
        self, id_e: str, id_d: str, report: RunReport, force: bool = False
    ) -> DocumentOutcome:
        """Bring the curated side of one document in line with the current raw detail.json."""
        outcome = DocumentOutcome()
        detail_key = layout.document_detail_key(id_e, id_d)
        pointer = self._pointer(id_e, id_d)
        try:
            response = self.raw.client.get_object(Bucket=self.raw.bucket, Key=detail_key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"NoSuchKey", "404", "NotFound"}:
                raise
            response = None
        if response is None:
            clear_quarantine(self.curated, id_e, id_d)
            if pointer is not None:
                self._withdraw(id_e, id_d, pointer, "supprime", report, outcome)
            return outcome
        body = response["Body"].read()
        version, etag = response.get("VersionId"), response.get("ETag")
        report.count("documents_seen")
        if (
            not force
            and pointer is not None
            and pointer.raw_etag == etag
            and pointer.raw_version == version
            and pointer.inputs_sha256
            == self.decision_inputs(pointer.siren, id_d, pointer.numero, pointer.flux, report)[0]
        ):
            report.count("documents_skipped")
            outcome.touched.add((pointer.siren, pointer.annee))
            return outcome
        try:
            raw = RawDocument.model_validate_json(body)
        except ValidationError as exc:
            reason = "json_invalide" if "json_invalid" in str(exc) else "enveloppe_invalide"
            return self._reject(id_e, id_d, reason, _short(exc), version, etag, pointer, report, outcome)
        if (raw.capture.id_e, raw.capture.id_d) != (id_e, id_d):
            return self._reject(
                id_e,
                id_d,
                "enveloppe_incoherente",
                f"enveloppe {raw.capture.id_e}/{raw.capture.id_d} sous la clé {detail_key}",
                version,
                etag,
                pointer,
                report,
                outcome,
            )
        withdrawn = withdrawal_reason(raw)
        if withdrawn is not None:
            clear_quarantine(self.curated, id_e, id_d)
            if pointer is not None:
                self._withdraw(id_e, id_d, pointer, withdrawn, report, outcome)
            else:
                report.add("withdrawn", ActeItem(id_e=id_e, id_d=id_d, reason=withdrawn))
            return outcome
        try:
            acte = acte_from_raw(raw, read_file=self.raw.get_bytes)
        except ActeInvalide as exc:
            return self._reject(id_e, id_d, exc.code, exc.message, version, etag, pointer, report, outcome)
        bounds = acte_bounds_problem(acte, self.min_year, self.max_year)
        if bounds is not None:  # one absurd value must never block the act's partition
            return self._reject(id_e, id_d, bounds[0], bounds[1], version, etag, pointer, report, outcome)
        config = self.directory.config(acte.siren)
        inputs_sha, _override = self.decision_inputs(acte.siren, acte.id_d, acte.numero, acte.flux, report)
        admin = self.admin_inputs(acte.siren, report)
        decision = decide(
            siren=acte.siren,
            id_d=acte.id_d,
            numero=acte.numero,
            nature=acte.nature,
            publication_open_data=acte.publication_open_data,
            code_table=self.code_table(acte.flux, report).table,
            switches=admin.switches(acte.siren, config.open_data, config.documents, config.annexes),
            overrides=admin.overrides,
            blocked=self.blocked,
        )
        decision = apply_missing_files(acte, decision)  # no main file: metadata only
        budget = budgets.budget_of_act(
            acte, decision.decision, self.raw.get_bytes
        )  # TOTEM: lines, XML private
        acte = budget.acte if budget is not None else acte
        collectivite = self.directory.describe(acte.siren, acte.denomination)
        try:
            record = build_record(
                acte,
                decision,
                coll_nom=collectivite.nom,
                coll_siret=collectivite.siret,
                public_base_url=self.public_base_url,
                raw_version=version,
                raw_etag=etag,
                annexe_publique=_annex_rule(admin, acte.siren, acte.id_d),
                objet=admin.objet(acte.siren, acte.id_d, acte.objet),
            )
        except Exception as exc:  # a pure function of the act: its failure is the act's, not the batch's
            message = f"{type(exc).__name__}: {_short(exc)}"
            return self._reject(
                id_e, id_d, "record_invalide", message, version, etag, pointer, report, outcome
            )
        record.avertissements.extend(missing_file_warnings(acte))
        record.avertissements.extend(Avertissement(code=c, message=m) for c, m in budgets.warnings_of(budget))
        if pointer is not None and not record.decision.public:
            self._unpublished = self.left_public = True
        problem = row_problem(record.row, self.min_year, self.max_year)
        if problem is not None:
            return self._reject(
                id_e, id_d, "parquet_invalide", problem, version, etag, pointer, report, outcome
            )
        awaiting = record.decision.motif == "table_absente"
        if awaiting:  # so the definition's arrival (S3 event) finds this act without a scan
            marker = layout.awaiting_flux_key(acte.flux, id_e, id_d)
            if self.curated.put_if_changed(
                marker, dumps_canonical({"id_e": id_e, "id_d": id_d, "flux": acte.flux}), "application/json"
            ).written:
                report.files([marker], [])
        # 1. public copies, 2. stale copies removed (privacy first), 3. record (+ old one if it moved)
        new_keys = {public_key(d) for d in record.documents}
        written = publish_documents(self.raw, self.curated, record.documents)
        stale = set(pointer.documents) - new_keys if pointer else set()
        if stale:  # documents left the public zone: the compacted datasets must not wait for the debounce
            self.left_public = True
        deleted = delete_documents(self.curated, sorted(stale))
        if pointer is not None and pointer.record_key != record.key:
            if self.curated.delete(pointer.record_key):
                deleted.append(pointer.record_key)
            outcome.touched.add((pointer.siren, pointer.annee))
            if pointer.siren != record.siren:
                outcome.search_retired.add((pointer.siren, acte_id_of(pointer.siren, id_e, id_d)))
        record_body = dumps_canonical(record.model_dump(mode="json"))
        record_sha = sha256_hex(record_body)
        same = pointer is not None and (pointer.record_key, pointer.record_sha256) == (record.key, record_sha)
        # the pointer remembers the record's digest: an unchanged record costs no request
        if (force or not same) and self.curated.put_if_changed(
            record.key, record_body, "application/json"
        ).written:
            written.append(record.key)
        budget_key = self._put_budget(budget, pointer, written, deleted, outcome)
        report.files(written, deleted)
        clear_quarantine(self.curated, id_e, id_d)
        outcome.touched.add((record.siren, record.annee))
        outcome.record = record
        outcome.document_keys = new_keys
        new_pointer = Pointer(
            record_key=record.key,
            siren=record.siren,
            annee=record.annee,
            raw_version=version,
            raw_etag=etag,
            record_sha256=record_sha,
            documents=sorted(new_keys),
            flux=acte.flux,
            numero=acte.numero,
            inputs_sha256=inputs_sha,
            awaiting_flux=awaiting,
            budget_key=budget_key,
        )
        pointer_key = layout.record_pointer_key(id_e, id_d)
        old_marker = _awaiting_marker(id_e, id_d, pointer)
        if old_marker == (layout.awaiting_flux_key(acte.flux, id_e, id_d) if awaiting else None):
            old_marker = None
        if force or new_pointer != pointer:

            def commit() -> None:
                self._write_pointer(pointer_key, new_pointer, report)
                if old_marker and self.curated.delete(old_marker):
                    report.files([], [old_marker])

            outcome.commit = commit
        report.count("acts_normalised")
        self._report_record(record, report)
        return outcome

    def _put_budget(
        self,
        budget: budgets.BudgetOfAct | None,
        pointer: Pointer | None,
        written: list[str],
        deleted: list[str],
        outcome: DocumentOutcome,
    ) -> str | None:
        """Write (or remove) the act's budget entry; its budget partitions are rebuilt by :meth:`complete`."""
        entry = budget.entry if budget is not None else None
        key = entry.key if entry is not None else None
        old = pointer.budget_key if pointer is not None else None
        if old and old != key and (parsed := layout.parse_budget_document_key(old)):
            if self.curated.delete(old):
                deleted.append(old)
            outcome.budgets.add(parsed[:2])
        if entry is not None and key is not None:
            if self.curated.put_if_changed(key, budgets.entry_body(entry), "application/json").written:
                written.append(key)
            outcome.budgets.add((entry.siren, entry.exercice))
        return key

    def rebuild_budgets(self, outcomes: list[DocumentOutcome], report: RunReport) -> None:
        """The budget files of the (SIREN, exercice) the outcomes touched, then the national files."""
        partitions = sorted(set().union(*(o.budgets for o in outcomes)) if outcomes else set())
        results = [
            budgets.rebuild_budget_partition(self.curated, s, a, self.max_attempts) for s, a in partitions
        ]
        years = sorted({a for _s, a in partitions})
        results += [budgets.rebuild_budget_national(self.curated, a, self.max_attempts) for a in years]
        for result in results:
            report.files(result.written, result.deleted)
            for code, message in result.problems:
                report.add("warnings", WarningItem(code=code, message=message))

    def _write_pointer(self, key: str, pointer: Pointer, report: RunReport) -> None:
        if self.curated.put_if_changed(
            key,
            dumps_canonical(
                pointer.model_dump(exclude={"budget_key"} if pointer.budget_key is None else None)
            ),
            "application/json",
        ).written:
            report.files([key], [])

    def _pointer(self, id_e: str, id_d: str) -> Pointer | None:
        found = self.curated.get_with_etag(layout.record_pointer_key(id_e, id_d))
        if found is None:
            return None
        try:
            return Pointer.model_validate_json(found[0])
        except ValidationError:
            return None

    def _withdraw(
        self, id_e: str, id_d: str, pointer: Pointer, reason: str, report: RunReport, outcome: DocumentOutcome
    ) -> None:
        """Cancelled or deleted: documents first, then the record; the pointer once partitions are rebuilt."""
        self._unpublished = self.left_public = True
        deleted = delete_documents(self.curated, pointer.documents)
        if self.curated.delete(pointer.record_key):
            deleted.append(pointer.record_key)
        self._put_budget(None, pointer, [], deleted, outcome)
        report.files([], deleted)
        outcome.touched.add((pointer.siren, pointer.annee))
        outcome.search_retired.add((pointer.siren, acte_id_of(pointer.siren, id_e, id_d)))
        pointer_key = layout.record_pointer_key(id_e, id_d)
        marker = _awaiting_marker(id_e, id_d, pointer)

        def commit() -> None:
            if self.curated.delete(pointer_key):
                report.files([], [pointer_key])
            if marker and self.curated.delete(marker):
                report.files([], [marker])

        outcome.commit = commit
        report.add(
            "withdrawn",
            ActeItem(id_e=id_e, id_d=id_d, siren=pointer.siren, annee=pointer.annee, reason=reason),
        )

    def _reject(
        self,
        id_e: str,
        id_d: str,
        reason: str,
        message: str,
        version: str | None,
        etag: str | None,
        pointer: Pointer | None,
        report: RunReport,
        outcome: DocumentOutcome,
    ) -> DocumentOutcome:
        """Quarantine (the raw stays); a previous record of this document is withdrawn, never left stale."""
        entry = QuarantineEntry(
            id_e=id_e,
            id_d=id_d,
            reason=reason,
            message=message,
            raw_key=layout.document_detail_key(id_e, id_d),
            raw_version=version,
            raw_etag=etag,
        )
        if put_quarantine(self.curated, entry):
            report.files([layout.quarantine_key(id_e, id_d)], [])
        report.add("quarantined", ActeItem(id_e=id_e, id_d=id_d, reason=reason, message=message))
        if pointer is not None:
            self._withdraw(id_e, id_d, pointer, f"quarantaine:{reason}", report, outcome)
        return outcome

    def _report_record(self, record: ActeRecord, report: RunReport) -> None:
        item = ActeItem(
            id_e=record.id_e,
            id_d=record.id_d,
            siren=record.siren,
            annee=record.annee,
            numero=record.acte.numero,
            decision=record.decision.decision,
            motif=record.decision.motif,
        )
        if record.decision.decision == "a_statuer":
            report.add("pending", item.model_copy(update={"reason": "a_statuer"}))
        elif record.decision.decision == "retenir":
            report.add("withheld", item)
        else:
            report.add("published", item)
        if record.scdl_en_attente:
            report.add("pending", item.model_copy(update={"reason": record.scdl_en_attente}))
        for warning in record.avertissements:
            report.add(
                "warnings",
                WarningItem(code=warning.code, message=warning.message, id_e=record.id_e, id_d=record.id_d),
            )

    # ------------------------------------------------------------------------ partitions
    def rebuild(self, partition: Partition, report: RunReport) -> PartitionResult:
        result = rebuild_partition(self.curated, partition[0], partition[1], self.cache, self.max_attempts)
        self._report_partition(result, report)
        return result

    def rebuild_national(self, annee: int, report: RunReport) -> PartitionResult:
        result = rebuild_national(self.curated, annee, self.max_attempts)
        self._report_partition(result, report)
        return result

    def read_step(
        self, years: set[int], report: RunReport, inline: bool = False, every_year: bool = False
    ) -> None:
        """National SCDL files and compacted read datasets (:mod:`regate.normalize.lake`) of these years:
        at once when ``inline``, without debounce, or when acts left the public dataset (privacy first);
        else one marker per year for the debounced step (:meth:`run_read_step`). ``every_year``: every
        year with partitions or compacted files (``regate rebuild``)."""
        if not years and not every_year:
            return
        if inline or every_year or self.lake.debounce_seconds <= 0 or self.left_public:
            for annee in sorted(years):
                self.rebuild_national(annee, report)
            result = rebuild_lake(self.curated, None if every_year else years, self.lake)
            report.files(result.written, result.deleted)
        else:
            mark_pending(self.curated, years)

    def run_read_step(self, report: RunReport, force: bool = False) -> list[int]:
        """The scheduled, debounced read step: the years whose burst of changes is over."""
        result = run_pending_step(
            self.curated,
            self.clock.now(),
            self.lake,
            lambda annee: self.rebuild_national(annee, report),
            force,
        )
        report.files(result.written, result.deleted)
        return result.years

    def _report_partition(self, result: PartitionResult, report: RunReport) -> None:
        report.files(result.written, result.deleted)
        for entry in result.quarantined:
            report.add(
                "quarantined",
                ActeItem(
                    id_e=entry.id_e,
                    id_d=entry.id_d,
                    siren=result.siren,
                    annee=result.annee,
                    reason=entry.reason,
                    message=entry.message,
                ),
            )
        for duplicate in result.duplicates:
            id_e, _, id_d = duplicate.partition("/")
            report.add(
                "warnings",
                WarningItem(
                    code="acte_en_double",
                    id_e=id_e,
                    id_d=id_d,
                    message=f"même numéro et date qu'un autre document de {result.siren}",
                ),
            )
        if result.csv_changed and result.siren != layout.NATIONAL:  # the national file repeats them
            report.count("rows_written", result.scdl_rows)
        report.add(
            "partitions",
            PartitionItem(
                siren=result.siren,
                annee=result.annee,
                acts=result.acts,
                public_acts=result.public_acts,
                scdl_rows=result.scdl_rows,
                csv_changed=result.csv_changed,
                files_written=result.written,
                files_deleted=result.deleted,
                attempts=result.attempts,
            ),
        )

    # ------------------------------------------------------------------------ entry points
    def handle_key(self, key: str, report: RunReport) -> set[int]:
        """One S3 event on ``pastell/{id_e}/{id_d}/detail.json`` (see :meth:`process_keys`)."""
        return self.process_keys([key], report)

    def process_keys(self, keys: Iterable[str], report: RunReport) -> set[int]:
        """A batch of S3 events on ``pastell/{id_e}/{id_d}/detail.json`` (created or deleted, any order, maybe
        twice): normalise each document, then rebuild each touched partition once, then mark them done.

        An event only says *which* document: its current state is read from raw, so redelivered and
        out-of-order events converge. Other keys are ignored. Returns the years whose national file must
        be rebuilt.
        """
        outcomes = []
        for key in keys:
            ids = detail_key_ids(key)
            if ids is not None:
                outcomes.append(self.normalize_document(ids[0], ids[1], report))
        return self.complete(outcomes, report)

    def complete(self, outcomes: list[DocumentOutcome], report: RunReport) -> set[int]:
        """Rebuild the partitions the outcomes touched, then commit their pointers (crash-safe order)."""
        touched = set().union(*(o.touched for o in outcomes)) if outcomes else set()
        for partition in sorted(touched):
            self.rebuild(partition, report)
        self.rebuild_budgets(outcomes, report)
        self.purge_exports(report)
        apply_stage(self.search, outcomes, report)
        for outcome in outcomes:
            if outcome.commit:
                outcome.commit()
        return {annee for _siren, annee in touched}

    def purge_exports(self, report: RunReport) -> None:
        """Acts left the public dataset: drop the stored API exports (a cache, rebuilt on demand), so a
        withdrawn act does not stay in an export file until the lifecycle rule expires it."""
        with self._lock:
            if not self._unpublished:
                return
            self._unpublished = False
        keys = list(self.curated.list_keys(layout.PUBLIC_EXPORTS_PREFIX))
        for key in keys:
            self.curated.client.delete_object(Bucket=self.curated.bucket, Key=key)
        report.files([], keys)

    def run_pending(
        self,
        report: RunReport,
        workers: int = 1,
        progress: Callable[[int, int], None] | None = None,
        force: bool = False,
    ) -> RunReport:
        """Normalise what changed in raw since the records were built (and withdraw what disappeared)."""
        report.started_at = report.started_at or utc_iso(self.clock.now())
        documents = dict(self._raw_documents())
        known = set(self._pointer_ids()) | set(self._quarantine_ids())  # deleted from raw since
        todo = sorted(set(documents) | known)
        outcomes = self._normalise_many(todo, report, workers, progress, force, documents)
        touched = set().union(*(o.touched for o in outcomes)) if outcomes else set()
        self._finish(touched, outcomes, report, workers)
        self.report_unmatched_overrides(report)
        return report

    # ------------------------------------------------------------ decision inputs changed
    def refresh_sirens(self, sirens: Iterable[str], report: RunReport) -> set[int]:
        """Re-decide the acts of these SIRENs whose decision inputs changed (operator file event).

        One SIREN at a time (records, partitions, pointers), so a run cut short keeps what it finished and
        the redelivered event resumes; unchanged acts cost one pointer read, not a raw read. Returns the
        years whose national file must be rebuilt.
        """
        years: set[int] = set()
        wanted = set(sirens)
        for siren in sorted(wanted):
            outcomes = []
            for id_e, id_d, pointer in self._acts_of(siren):
                if pointer is not None:
                    digest = self.decision_inputs(pointer.siren, id_d, pointer.numero, pointer.flux, report)[
                        0
                    ]
                    if pointer.inputs_sha256 == digest:
                        report.count("documents_skipped")
                        continue
                outcomes.append(self.normalize_document(id_e, id_d, report))
            years |= self.complete(outcomes, report)
        self.report_unmatched_overrides(report, wanted)
        return years

    def refresh_all(self, report: RunReport) -> set[int]:
        """Every SIREN that has records (an operator file became, or stopped being, unreadable)."""
        return self.refresh_sirens(self._record_sirens(), report)

    def refresh_flux(self, flux: str, report: RunReport) -> set[int]:
        """A flux definition was captured or changed: re-decide the acts that waited for it."""
        ids = [
            parsed[1:]
            for key in self.curated.list_keys(layout.awaiting_flux_prefix(flux))
            if (parsed := layout.parse_awaiting_flux_key(key)) is not None
        ]
        outcomes = [self.normalize_document(id_e, id_d, report) for id_e, id_d in sorted(ids)]
        years = self.complete(outcomes, report)
        for id_e, id_d in ids:  # markers of acts that are gone (deleted, quarantined) are dropped
            pointer = self._pointer(id_e, id_d)
            if pointer is None or not pointer.awaiting_flux:
                key = layout.awaiting_flux_key(flux, id_e, id_d)
                if self.curated.delete(key):
                    report.files([], [key])
        return years

    def _acts_of(self, siren: str) -> Iterable[tuple[str, str, Pointer | None]]:
        """``(id_e, id_d, pointer)`` of every record of ``siren`` (keys ``{id_e}.{id_d}.json``)."""
        prefix = f"{layout.RECORDS_PREFIX}{layout.safe_segment(siren, 'siren')}/"
        for key in self.curated.list_keys(prefix):
            stem = key.rsplit("/", 1)[-1].removesuffix(".json")
            candidates = [(stem[:i], stem[i + 1 :]) for i, ch in enumerate(stem) if ch == "."]
            first: tuple[str, str] | None = None
            for id_e, id_d in candidates:
                try:
                    layout.safe_segment(id_e), layout.safe_segment(id_d)
                except ValueError:
                    continue
                first = first or (id_e, id_d)
                pointer = self._pointer(id_e, id_d)
                if pointer is not None and pointer.record_key == key:
                    yield id_e, id_d, pointer
                    break
            else:
                if first is not None:  # a record without pointer: normalise it from raw
                    yield first[0], first[1], None

    def _record_sirens(self) -> list[str]:
        paginator = self.curated.client.get_paginator("list_objects_v2")
        sirens: list[str] = []
        for page in paginator.paginate(
            Bucket=self.curated.bucket, Prefix=layout.RECORDS_PREFIX, Delimiter="/"
        ):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(layout.RECORDS_PREFIX) :].rstrip("/")
                if name and not name.startswith("_"):
                    sirens.append(name)
        return sorted(sirens)

    def rebuild_all(
        self, report: RunReport, workers: int = 1, progress: Callable[[int, int], None] | None = None
    ) -> RunReport:
        """Recompute the whole curated zone from raw (records, partitions, national files, documents)."""
        report.mode = "rebuild"
        report.started_at = report.started_at or utc_iso(self.clock.now())
        documents = dict(self._raw_documents())
        todo = sorted(set(documents) | set(self._pointer_ids()))
        outcomes = self._normalise_many(todo, report, workers, progress, True, documents)
        live_records = {o.record.key for o in outcomes if o.record is not None}
        live_documents = set().union(*(o.document_keys for o in outcomes)) if outcomes else set()
        touched: set[Partition] = set().union(*(o.touched for o in outcomes)) if outcomes else set()
        # records, quarantine entries and public documents that no raw document backs any more
        orphans = [
            k
            for k in self.curated.list_keys(layout.RECORDS_PREFIX)
            if not k.startswith(_POINTERS_PREFIX) and k not in live_records
        ]
        for key in orphans:
            parts = key[len(layout.RECORDS_PREFIX) :].split("/")
            if len(parts) == 3 and parts[1].isdigit():
                touched.add((parts[0], int(parts[1])))
            self.curated.delete(key)
        report.files([], orphans)
        stale_docs = [
            k for k in self.curated.list_keys(layout.PUBLIC_DOCUMENTS_PREFIX) if k not in live_documents
        ]
        report.files([], delete_documents(self.curated, stale_docs))
        for key in list(self.curated.list_keys(layout.QUARANTINE_PREFIX)):
            parts = key[len(layout.QUARANTINE_PREFIX) :].removesuffix(".json").split("/")
            if len(parts) == 2 and tuple(parts) not in documents and self.curated.delete(key):
                report.files([], [key])
        touched |= self._existing_partitions()
        self._finish(touched, outcomes, report, workers)
        self.report_unmatched_overrides(report)
        return report

    def _finish(
        self, touched: set[Partition], outcomes: list[DocumentOutcome], report: RunReport, workers: int
    ) -> None:
        partitions = sorted(p for p in touched if p[0] != layout.NATIONAL)
        years = {annee for _siren, annee in partitions} | (
            self._national_years() if report.mode == "rebuild" else set()
        )
        self._parallel(lambda p: self.rebuild(p, report), partitions, workers)
        self.read_step(years, report, inline=True, every_year=report.mode == "rebuild")
        self.rebuild_budgets(outcomes, report)
        self.purge_exports(report)
        apply_stage(self.search, outcomes, report)
        for outcome in outcomes:
            if outcome.commit:
                outcome.commit()

    def _normalise_many(
        self,
        todo: list[tuple[str, str]],
        report: RunReport,
        workers: int,
        progress: Callable[[int, int], None] | None,
        force: bool,
        documents: dict[tuple[str, str], str],
    ) -> list[DocumentOutcome]:
        done = 0
        outcomes: list[DocumentOutcome] = []

        def one(ids: tuple[str, str]) -> DocumentOutcome:
            nonlocal done
            try:
                if not force and ids in documents and self._quarantined_at(ids, documents[ids]):
                    report.count("documents_skipped")
                    return DocumentOutcome()
                return self.normalize_document(ids[0], ids[1], report, force=force)
            finally:
                done += 1
                if progress:
                    progress(done, len(todo))

        outcomes = self._parallel(one, todo, workers)
        return outcomes

    @staticmethod
    def _parallel(function: Callable[[Any], Any], items: Iterable[Any], workers: int) -> list[Any]:
        items = list(items)
        if workers <= 1 or len(items) <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(function, items))

    def _quarantined_at(self, ids: tuple[str, str], etag: str) -> bool:
        entry = self.curated.get_json(layout.quarantine_key(*ids))
        return isinstance(entry, dict) and entry.get("raw_etag") == etag

    def _raw_documents(self) -> Iterable[tuple[tuple[str, str], str]]:
        for item in self.raw.list_objects(layout.PASTELL_PREFIX):
            ids = detail_key_ids(item["Key"])
            if ids is not None:
                yield ids, item["ETag"]

    def _pointer_ids(self) -> Iterable[tuple[str, str]]:
        for key in self.curated.list_keys(_POINTERS_PREFIX):
            parts = key[len(_POINTERS_PREFIX) :].removesuffix(".json").split("/")
            if len(parts) == 2:
                yield parts[0], parts[1]

    def _quarantine_ids(self) -> Iterable[tuple[str, str]]:
        for key in self.curated.list_keys(layout.QUARANTINE_PREFIX):
            parts = key[len(layout.QUARANTINE_PREFIX) :].removesuffix(".json").split("/")
            if len(parts) == 2:
                yield parts[0], parts[1]

    def _existing_partitions(self) -> set[Partition]:
        """Partitions with a manifest or outputs (so an emptied partition loses its files)."""
        found: set[Partition] = set()
        for key in self.curated.list_keys(PARTITION_STATE_PREFIX):
            parts = key[len(PARTITION_STATE_PREFIX) :].removesuffix(".json").split("/")
            if len(parts) == 2 and parts[1].isdigit():
                found.add((parts[0], int(parts[1])))
        for prefix in (layout.ACTES_PARQUET_PREFIX, layout.PUBLIC_ACTES_PARQUET_PREFIX):
            for key in self.curated.list_keys(prefix):
                parsed = layout.parse_partition_key(key)
                if parsed:
                    found.add(parsed)
        for key in self.curated.list_keys(layout.SCDL_DELIBERATIONS_PREFIX):
            parts = key[len(layout.SCDL_DELIBERATIONS_PREFIX) :].removesuffix(".csv").split("/")
            if len(parts) == 2 and parts[1].isdigit():
                found.add((parts[0], int(parts[1])))
        return {p for p in found if p[0] != layout.NATIONAL}

    def _national_years(self) -> set[int]:
        years: set[int] = set()
        for key in self.curated.list_keys(f"{layout.SCDL_DELIBERATIONS_PREFIX}{layout.NATIONAL}/"):
            stem = key.rsplit("/", 1)[-1].removesuffix(".csv")
            if stem.isdigit():
                years.add(int(stem))
        return years


def detail_key_ids(key: str) -> tuple[str, str] | None:
    """``pastell/{id_e}/{id_d}/detail.json`` exactly → ``(id_e, id_d)``; ``None`` for any other key."""
    if not key.startswith(layout.PASTELL_PREFIX):
        return None
    parts = key[len(layout.PASTELL_PREFIX) :].split("/")
    if len(parts) != 3 or parts[2] != "detail.json":
        return None
    try:
        layout.safe_segment(parts[0], "id_e")
        layout.safe_segment(parts[1], "id_d")
    except ValueError:
        return None
    return parts[0], parts[1]


def _short(exc: Exception, limit: int = 500) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "…"


def _awaiting_marker(id_e: str, id_d: str, pointer: Pointer | None) -> str | None:
    if pointer is None or not pointer.awaiting_flux or not pointer.flux:
        return None
    try:
        return layout.awaiting_flux_key(pointer.flux, id_e, id_d)
    except ValueError:
        return None


def _annex_rule(admin: DecisionInputs, siren: str, id_d: str) -> Callable[[Fichier, bool], bool]:
    """Per-annex back-office decisions (``rang`` = the file's ``num``; see :mod:`regate.admin.fold`)."""
    return lambda fichier, par_defaut: admin.annexe_publique(
        siren, id_d, fichier.num, fichier.sha256, par_defaut
    )


def _blocked_motif(files: list[LoadedFile]) -> str | None:
    """The ``a_statuer`` motif when an operator file has no readable version at all."""
    for file in files:
        if file.status == "unreadable":
            if file.key == layout.CONFIG_COLLECTIVITES_KEY:
                return "config_collectivites_illisible"
            return "config_overrides_illisible"
    return None


def report_operator_file(file: LoadedFile, report: RunReport) -> None:
    """Problems of an operator file into the run report: a refused file is an ERROR (loud), with details."""
    name = "config_collectivites" if file.key == layout.CONFIG_COLLECTIVITES_KEY else "config_overrides"
    if file.refused:
        report.add("errors", WarningItem(code=f"{name}:{file.status}", message=file.summary()))
    for p in file.problems:
        where = f"ligne {p.line}" if p.line else "fichier"
        column = f", colonne {p.column}" if p.column else ""
        target = "errors" if p.severity == "error" else "warnings"
        report.add(target, WarningItem(code=f"{name}:{p.code}", message=f"{where}{column}: {p.message}"))

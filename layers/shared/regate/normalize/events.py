"""What a normalise event asks for, and the order in which a batch of them is run.

The normalise queue receives EventBridge S3 events (``Object Created`` / ``Object Deleted``) of three kinds:

* raw ``pastell/{id_e}/{id_d}/detail.json`` — a captured act changed: normalise that document;
* raw ``pastell-flux/{flux}.json`` — a flux definition was captured or changed: the acts of that flux that
  waited for it (``table_absente``) are decided again (:meth:`Normalizer.refresh_flux`);
* curated ``config/collectivites.csv`` / ``config/overrides.csv`` — an operator file changed: the SIRENs whose
  rows differ between that version and the previous readable one are decided again
  (:func:`config_change_scope`, :meth:`Normalizer.refresh_sirens`) — a takedown is applied within minutes;
* curated back-office objects ``config/decisions/{siren}/…`` and ``config/collectivites/{siren}.json``
  (written by the write API) — the SIREN is in the key: its acts whose decision inputs changed are decided
  again (:meth:`Normalizer.refresh_sirens` compares each pointer's inputs digest, so one decision costs one
  re-normalisation, not the collectivité's);
* a :class:`~regate.search.ocr.Renormalisation` message from the OCR function (not an S3 event): the act's
  scanned document now has its OCR text in the text store — normalise that document again, **forced** (its
  raw file and decision inputs did not change, so the usual "unchanged" shortcut would skip it).

Events only say *what* changed; the current state is always read from the buckets, so redelivered and
out-of-order events converge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from botocore.exceptions import ClientError
from pydantic import BaseModel

from regate.collectivites.config import parse_collectivites_csv
from regate.normalize.decision import parse_overrides
from regate.normalize.pipeline import DocumentOutcome, Normalizer, detail_key_ids
from regate.normalize.reports import RunReport
from regate.operator_files import FileProblem, has_errors, object_versions
from regate.search.ocr import parse_renormalisation
from regate.storage import layout
from regate.storage.store import ObjectStore

CONFIG_KEYS = (layout.CONFIG_COLLECTIVITES_KEY, layout.CONFIG_OVERRIDES_KEY)


class NormalizeTarget(BaseModel):
    """One event, classified."""

    kind: Literal["document", "flux", "config", "admin", "ignored"]
    bucket: str
    key: str
    version_id: str | None = None
    id_e: str | None = None
    id_d: str | None = None
    flux: str | None = None
    siren: str | None = None
    force: bool = False


def classify_event(body: Any, raw_bucket: str, curated_bucket: str) -> NormalizeTarget:
    """EventBridge S3 event (or a renormalisation request) → target (raises a pydantic ``ValidationError``
    for anything else)."""
    again = parse_renormalisation(body)
    if again is not None:
        key = layout.document_detail_key(again.id_e, again.id_d)
        return NormalizeTarget(
            kind="document", bucket=raw_bucket, key=key, id_e=again.id_e, id_d=again.id_d, force=True
        )
    parsed = parse(event=body, model=S3EventNotificationEventBridgeModel)
    bucket, key = parsed.detail.bucket.name, unquote_plus(parsed.detail.object.key)
    version = parsed.detail.object.version_id
    common = {"bucket": bucket, "key": key, "version_id": version}
    if bucket == raw_bucket:
        ids = detail_key_ids(key)
        if ids is not None:
            return NormalizeTarget(kind="document", id_e=ids[0], id_d=ids[1], **common)
        flux = layout.parse_flux_definition_key(key)
        if flux is not None:
            return NormalizeTarget(kind="flux", flux=flux, **common)
    if bucket == curated_bucket and key in CONFIG_KEYS:
        return NormalizeTarget(kind="config", **common)
    admin = layout.parse_admin_config_key(key) if bucket == curated_bucket else None
    if admin is not None:
        _kind, siren, id_e, id_d, _rang = admin
        return NormalizeTarget(kind="admin", siren=siren, id_e=id_e, id_d=id_d, **common)
    return NormalizeTarget(kind="ignored", **common)


def _parser(key: str) -> Callable[[bytes | None], tuple[Any, list[FileProblem]]]:
    return parse_collectivites_csv if key == layout.CONFIG_COLLECTIVITES_KEY else parse_overrides


def _fingerprint(key: str, value: Any) -> dict[str, Any]:
    """SIREN-scoped comparable view of a parsed file (``{siren}/…`` keys)."""
    if key == layout.CONFIG_COLLECTIVITES_KEY:
        return {f"{siren}/": config for siren, config in value.items()}
    return value.entries()


def config_change_scope(
    curated: ObjectStore, key: str, version_id: str | None, max_versions: int = 50
) -> set[str] | None:
    """SIRENs whose configuration differs between the event's version of ``key`` and the readable version
    before it; ``None`` means "every SIREN" (decisions were, or become, blocked by an unreadable file).

    Diffing the event's own version (not the current one) keeps out-of-order events correct: each change
    brings its SIRENs, and the refresh always applies the *current* effective file.
    """
    parse_file = _parser(key)
    try:
        versions = object_versions(curated.client, curated.bucket, key, max_versions + 1)
    except ClientError:
        return None
    if not versions:
        return set()
    index = 0
    if version_id:
        index = next((i for i, v in enumerate(versions) if v.get("VersionId") == version_id), 0)

    def effective(version: dict[str, Any]) -> tuple[Any, bool]:
        if version["_marker"]:
            return parse_file(None)[0], True
        try:
            body = curated.get_bytes(key, version["VersionId"])
        except ClientError:
            return None, False
        value, problems = parse_file(body)
        return value, not has_errors(problems)

    target, ok = effective(versions[index])
    older = versions[index + 1 :]
    if not ok:  # the effective file is an older good version: nothing changed, unless none is readable
        return set() if any(effective(v)[1] for v in older) else None
    for version in older:
        previous, readable = effective(version)
        if readable:
            return _diff(key, target, previous)
    if older:  # only refused versions before this one: every decision was withheld
        return None
    return _diff(key, target, parse_file(None)[0])


def _diff(key: str, new: Any, old: Any) -> set[str]:
    a, b = _fingerprint(key, new), _fingerprint(key, old)
    return {k.split("/", 1)[0] for k in set(a) | set(b) if a.get(k) != b.get(k)}


class EventBatch:
    """The targets of one invocation, run in the crash-safe order: documents (one partition rebuild each),
    then operator-file and flux-definition refreshes, then the read step (national files, compacted datasets)
    of every touched year."""

    def __init__(self, normalizer: Normalizer, report: RunReport, max_versions: int = 50) -> None:
        self.normalizer = normalizer
        self.report = report
        self.max_versions = max_versions
        self.outcomes: list[DocumentOutcome] = []
        self.configs: list[NormalizeTarget] = []
        self.fluxes: set[str] = set()
        self.sirens: set[str] = set()

    def add(self, target: NormalizeTarget) -> None:
        if target.kind == "document" and target.id_e and target.id_d:
            self.outcomes.append(
                self.normalizer.normalize_document(target.id_e, target.id_d, self.report, force=target.force)
            )
        elif target.kind == "flux" and target.flux:
            self.fluxes.add(target.flux)
        elif target.kind == "config":
            self.configs.append(target)
        elif target.kind == "admin" and target.siren:
            self.sirens.add(target.siren)

    def finish(self) -> set[int]:
        normalizer, report = self.normalizer, self.report
        years = normalizer.complete(self.outcomes, report)
        scope: set[str] | None = set(self.sirens)
        for target in self.configs:
            found = config_change_scope(normalizer.curated, target.key, target.version_id, self.max_versions)
            scope = None if found is None or scope is None else scope | found
        if scope is None:
            years |= normalizer.refresh_all(report)
        elif scope:
            years |= normalizer.refresh_sirens(scope, report)
        for flux in sorted(self.fluxes):
            years |= normalizer.refresh_flux(flux, report)
        # national files + compacted datasets: debounced for acts, at once for operator and back-office
        # changes (takedowns, objet corrections: privacy does not wait for the end of a burst)
        normalizer.read_step(years, report, inline=bool(self.configs or self.sirens))
        return years

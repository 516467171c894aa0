"""Per-act records: the normalised act, its decision, its SCDL row and its public documents.

A record is the unit partitions are rebuilt from (``records/{siren}/{annee}/{id_e}.{id_d}.json``). It is
a pure function of the raw document and the settings (no timestamps), so re-normalising an unchanged act
writes nothing and ``regate rebuild`` is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from regate.actes.aracte import pref_id_from_id_acte
from regate.actes.model import Acte, Fichier
from regate.normalize.decision import PublicationDecision
from regate.storage import layout

RECORD_VERSION = 1


class DocumentPublic(BaseModel):
    """A file of the act copied to ``public/documents/{document_id}/{nom}`` (only when published)."""

    document_id: str
    nom: str
    role: str = Field(description="acte | annexe")
    raw_key: str
    sha256: str


class Avertissement(BaseModel):
    """A warning carried into the run report (machine-readable ``code``)."""

    code: str
    message: str


class ActeRecord(BaseModel):
    """Everything a partition rebuild needs about one act, and nothing time-dependent."""

    version: int = RECORD_VERSION
    id_e: str
    id_d: str
    siren: str
    annee: int
    acte_id: str
    raw_version: str | None = None
    raw_etag: str | None = None
    acte: Acte
    decision: PublicationDecision
    coll_nom: str
    coll_siret: str | None = None
    scdl: dict[str, Any] | None = Field(
        default=None, description="ScdlDeliberationRow (JSON) when in the CSV"
    )
    scdl_en_attente: str | None = Field(default=None, description="Why a public délibération has no SCDL row")
    documents: list[DocumentPublic] = Field(default_factory=list)
    avertissements: list[Avertissement] = Field(default_factory=list)
    row: dict[str, Any] = Field(description="The ACTES_SCHEMA row (JSON values; dates ISO)")

    @property
    def key(self) -> str:
        return layout.record_key(self.siren, self.annee, self.id_e, self.id_d)


def acte_id_for(acte: Acte) -> str:
    """Stable public id of the act (derived, never sequential)."""
    return acte_id_of(acte.siren, acte.id_e, acte.id_d)


def acte_id_of(siren: str, id_e: str, id_d: str) -> str:
    """:func:`acte_id_for` from the ids alone (an act being withdrawn has no :class:`Acte` any more)."""
    return hashlib.sha256(f"regate-acte:{siren}:{id_e}:{id_d}".encode()).hexdigest()[:24]


def document_id_for(acte: Acte, fichier: Fichier) -> str:
    """Stable, non-enumerable id of a published file: derived from the act, the slot and the content hash."""
    seed = f"regate-document:{acte.id_e}:{acte.id_d}:{fichier.field}:{fichier.num}:{fichier.sha256}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def acte_bounds_problem(acte: Acte, min_year: int, max_year: int) -> tuple[str, str] | None:
    """``(reason, message)`` when the act holds a value its Parquet row could not (or should not) store.

    Checked before anything is derived, so an absurd vote count is quarantined rather than silently dropped
    by the SCDL coherence rule: dates outside ``[min_year, max_year]`` → ``date_hors_bornes``; vote counts
    negative or beyond the column type (int32) → ``valeur_hors_bornes``.
    """
    from regate.normalize.parquet import column_value_problem

    for name, day in (("delib_date", acte.date_acte), ("date_ar", acte.date_ar)):
        problem = column_value_problem(name, day, min_year, max_year)
        if problem:
            return "date_hors_bornes", problem
    if acte.vote is not None:
        for part, value in acte.vote.model_dump().items():
            problem = column_value_problem(f"vote_{part}", value, min_year, max_year)
            if problem:
                return "valeur_hors_bornes", problem
    return None


def build_record(
    acte: Acte,
    decision: PublicationDecision,
    *,
    coll_nom: str,
    coll_siret: str | None,
    public_base_url: str,
    raw_version: str | None = None,
    raw_etag: str | None = None,
    annexe_publique: Callable[[Fichier, bool], bool] | None = None,
    objet: str | None = None,
) -> ActeRecord:
    """Derive the record (documents, SCDL row, Parquet row) from an act and its decision.

    ``annexe_publique(fichier, par_defaut)``: per-annex decision (back-office); ``par_defaut`` is the
    collectivité's ``annexes`` switch as folded in ``decision.annexes_publiques``; ``objet``: the objet to
    publish when an operator corrected it (``acte.objet`` stays as received)."""
    from regate.actes.nomenclature import matiere_nom
    from regate.scdl.deliberations import clean_objet

    warnings: list[Avertissement] = []
    pref_date: date | None = acte.date_ar
    if acte.date_ar is not None and acte.date_ar < acte.date_acte:
        pref_date = None
        warnings.append(
            Avertissement(
                code="pref_date_anterieure",
                message=f"date_ar {acte.date_ar} < date_de_lacte {acte.date_acte} : PREF_DATE laissée vide",
            )
        )
    documents: list[DocumentPublic] = []
    main = acte.main_file()
    if decision.documents_publics and main is not None:
        documents.append(_document(acte, main, "acte"))
        for annex in acte.annex_files():
            default = decision.annexes_publiques
            if annexe_publique(annex, default) if annexe_publique is not None else default:
                documents.append(_document(acte, annex, "annexe"))
    main_id = documents[0].document_id if documents else None
    delib_url = layout.public_document_url(public_base_url, main_id) if main_id else None
    matiere_code = acte.classification_niveau2
    try:
        matiere = matiere_nom(matiere_code) if matiere_code else None
    except (KeyError, ValueError):
        matiere = None
    budget_ok = bool(acte.budget_annee and acte.budget_nom)
    vote = acte.vote
    objet = clean_objet(objet if objet else acte.objet)
    annexes = [{"document_id": d.document_id, "nom": d.nom} for d in documents if d.role == "annexe"]
    row: dict[str, Any] = {
        "acte_id": acte_id_for(acte),
        "siren": acte.siren,
        "annee": acte.annee,
        "nature": acte.nature,
        "nature_libelle": acte.nature_libelle,
        "nature_autre_detail": acte.nature_autre_detail,
        "classification_code": acte.classification_code,
        "coll_nom": coll_nom,
        "coll_siret": coll_siret,
        "delib_id": acte.numero,
        "delib_date": acte.date_acte.isoformat(),
        "delib_matiere_code": matiere_code,
        "delib_matiere_nom": matiere,
        "delib_objet": objet,
        "budget_annee": acte.budget_annee if budget_ok else None,
        "budget_nom": acte.budget_nom if budget_ok else None,
        "pref_id": pref_id_from_id_acte(acte.acte_unique_id),
        "pref_date": pref_date.isoformat() if pref_date else None,
        "vote_effectif": vote.effectif if vote else None,
        "vote_reel": vote.reel if vote else None,
        "vote_pour": vote.pour if vote else None,
        "vote_contre": vote.contre if vote else None,
        "vote_abstention": vote.abstention if vote else None,
        "delib_url": delib_url,
        "decision": decision.decision,
        "documents_publics": bool(documents),
        "document_id": main_id,
        "annexes": json.dumps(annexes, ensure_ascii=False, sort_keys=True) if documents else None,
        # internal only
        "id_e": acte.id_e,
        "id_d": acte.id_d,
        "flux": acte.flux,
        "source": acte.source,
        "decision_motif": decision.motif,
        "publication_open_data": acte.publication_open_data,
        "annule": acte.annule,
        "acte_unique_id": acte.acte_unique_id,
        "date_ar": acte.date_ar.isoformat() if acte.date_ar else None,
        "fichiers": json.dumps(
            [f.model_dump(exclude={"size"}) for f in sorted(acte.fichiers, key=lambda f: (f.field, f.num))],
            ensure_ascii=False,
            sort_keys=True,
        ),
        "raw_version": raw_version,
    }
    scdl, pending = _scdl_row(acte, decision, row, warnings)
    return ActeRecord(
        id_e=acte.id_e,
        id_d=acte.id_d,
        siren=acte.siren,
        annee=acte.annee,
        acte_id=row["acte_id"],
        raw_version=raw_version,
        raw_etag=raw_etag,
        acte=acte,
        decision=decision,
        coll_nom=coll_nom,
        coll_siret=coll_siret,
        scdl=scdl,
        scdl_en_attente=pending,
        documents=documents,
        avertissements=warnings,
        row=row,
    )


def _document(acte: Acte, fichier: Fichier, role: str) -> DocumentPublic:
    return DocumentPublic(
        document_id=document_id_for(acte, fichier),
        nom=layout.file_name_segment(fichier.name),
        role=role,
        raw_key=fichier.key,
        sha256=fichier.sha256,
    )


def _scdl_row(
    acte: Acte, decision: PublicationDecision, row: dict[str, Any], warnings: list[Avertissement]
) -> tuple[dict[str, Any] | None, str | None]:
    """The SCDL délibérations row: only nature 1, only when the decision makes metadata public."""
    from regate.scdl.deliberations import ScdlDeliberationRow, ScdlValidationError, write_deliberations_csv

    if acte.nature != 1 or not decision.public:
        return None, None
    if not row["coll_siret"]:
        return None, "siret_inconnu"
    if not row["delib_matiere_code"] or not row["delib_matiere_nom"]:
        return None, "classification_absente"
    scdl = ScdlDeliberationRow(
        COLL_NOM=row["coll_nom"],
        COLL_SIRET=row["coll_siret"],
        DELIB_ID=row["delib_id"],
        DELIB_DATE=acte.date_acte,
        DELIB_MATIERE_CODE=row["delib_matiere_code"],
        DELIB_MATIERE_NOM=row["delib_matiere_nom"],
        DELIB_OBJET=row["delib_objet"],
        BUDGET_ANNEE=row["budget_annee"],
        BUDGET_NOM=row["budget_nom"],
        PREF_ID=row["pref_id"],
        PREF_DATE=date.fromisoformat(row["pref_date"]) if row["pref_date"] else None,
        VOTE_EFFECTIF=row["vote_effectif"],
        VOTE_REEL=row["vote_reel"],
        VOTE_POUR=row["vote_pour"],
        VOTE_CONTRE=row["vote_contre"],
        VOTE_ABSTENTION=row["vote_abstention"],
        DELIB_URL=row["delib_url"],
    )
    try:
        write_deliberations_csv([scdl])  # one-row check: a bad act must never block its partition
    except ScdlValidationError as exc:
        if scdl.VOTE_EFFECTIF is not None or scdl.BUDGET_ANNEE is not None:
            # inconsistent optional groups from the source: drop them rather than the act
            warnings.append(Avertissement(code="vote_budget_incoherents", message=_errors_text(exc)))
            dropped = (
                "BUDGET_ANNEE",
                "BUDGET_NOM",
                "VOTE_EFFECTIF",
                "VOTE_REEL",
                "VOTE_POUR",
                "VOTE_CONTRE",
                "VOTE_ABSTENTION",
            )
            scdl = scdl.model_copy(update=dict.fromkeys(dropped))
            row.update(dict.fromkeys(name.lower() for name in dropped))
            try:
                write_deliberations_csv([scdl])
            except ScdlValidationError as again:
                warnings.append(Avertissement(code="scdl_invalide", message=_errors_text(again)))
                return None, "scdl_invalide"
        else:
            warnings.append(Avertissement(code="scdl_invalide", message=_errors_text(exc)))
            return None, "scdl_invalide"
    return scdl.model_dump(mode="json"), None


def _errors_text(exc: Exception) -> str:
    report = getattr(exc, "report", None)
    errors = getattr(report, "errors", None) or []
    if errors:
        return "; ".join(f"{getattr(e, 'column', '')}: {getattr(e, 'message', e)}" for e in errors[:5])
    return str(exc)

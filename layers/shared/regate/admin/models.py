"""Pydantic models of the back-office: the objects it stores, its audit entries, its API input and output.

Stored objects (curated ``config/…``, keys in :mod:`regate.storage.layout`) carry the decision itself
(``payload``) and who made it; two objects with the same payload are the same decision (a replay writes
nothing). Every input model forbids unknown fields: a typo in a client is an error, never ignored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

STORED_VERSION = 1
#: What an operator may decide for an act (``a_statuer`` is what the chain says when nobody has).
DecisionOperateur = Literal["publier", "metadonnees", "retenir"]
AuditAction = Literal["decision_acte", "objet_acte", "decision_annexe", "reglages_collectivite"]

Siren = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]
PastellId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
#: Client-chosen id of a request (idempotent replays of a bulk decision).
ClientRequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str, what: str) -> str:
    """Operator text (motif, objet): trimmed, no control characters except newlines and tabs."""
    if _CONTROL.search(value):
        raise ValueError(f"{what} : caractères de contrôle interdits")
    value = value.strip()
    if not value:
        raise ValueError(f"{what} : texte vide")
    return value


class Stored(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Auteur(Stored):
    """Who made a change, from the token's claims."""

    sub: str
    nom: str | None = None
    email: str | None = None
    admin: bool = False
    rh: bool = False


class Trace(Stored):
    """Bookkeeping of the last change of an object (the audit entry has the whole story)."""

    modifie_par: Auteur
    modifie_le: datetime
    audit_id: str
    request_id: str | None = None
    client_request_id: str | None = None


class ActeSurcharge(Stored):
    """``config/decisions/{siren}/{id_e}/{id_d}.json``: the operator's decision and objet for one act."""

    version: int = STORED_VERSION
    siren: Siren
    id_e: PastellId
    id_d: PastellId
    numero: str | None = Field(default=None, description="Numéro of the act when decided (CSV matching)")
    nature: int = Field(ge=1, le=7)
    decision: DecisionOperateur | None = Field(default=None, description="None: the chain decides")
    motif: str | None = None
    objet: str | None = Field(default=None, description="Corrected objet (None: as received)")
    motif_objet: str | None = None
    trace: Trace

    def payload(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "motif": self.motif,
            "objet": self.objet,
            "motif_objet": self.motif_objet,
        }


class AnnexeSurcharge(Stored):
    """``config/decisions/{siren}/{id_e}/{id_d}/annexes/{rang}.json``: publish or withhold one annex."""

    version: int = STORED_VERSION
    siren: Siren
    id_e: PastellId
    id_d: PastellId
    nature: int = Field(ge=1, le=7)
    rang: int = Field(ge=0, le=9999, description="num of the annex in its Pastell field")
    nom: str
    sha256: str = Field(description="Content decided on: a publication applies to these bytes only")
    publier: bool
    motif: str
    trace: Trace

    def payload(self) -> dict[str, Any]:
        return {"publier": self.publier, "motif": self.motif, "sha256": self.sha256}


class CollectiviteReglages(Stored):
    """``config/collectivites/{siren}.json``: the switches of ``config/collectivites.csv``, per SIREN."""

    version: int = STORED_VERSION
    siren: Siren
    open_data: bool | None = None
    documents: bool | None = None
    annexes: bool | None = None
    motif: str
    trace: Trace

    def payload(self) -> dict[str, Any]:
        return {"open_data": self.open_data, "documents": self.documents, "annexes": self.annexes}


class AuditEntry(Stored):
    """One change, as appended to ``audit/admin/…`` (create-only, never rewritten)."""

    version: int = STORED_VERSION
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    horodatage: datetime
    action: AuditAction
    siren: Siren
    id_e: str | None = None
    id_d: str | None = None
    rang: int | None = None
    nature: int | None = None
    numero: str | None = None
    cle: str = Field(description="S3 key of the object changed")
    version_id: str | None = Field(default=None, description="S3 version written (versioned bucket)")
    avant: dict[str, Any] | None
    apres: dict[str, Any]
    motif: str
    auteur: Auteur
    request_id: str | None = None
    client_request_id: str | None = None
    source_ip: str | None = None
    contexte: dict[str, Any] = Field(default_factory=dict, description="e.g. the decision in force then")


# ----------------------------------------------------------------------------------- API input
class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class DecisionActeIn(In):
    decision: DecisionOperateur | None = Field(
        description="publier, metadonnees ou retenir ; null rend la décision à la chaîne (Pastell, réglages)"
    )
    motif: str = Field(min_length=1, max_length=2000, description="Pourquoi (conservé dans le journal)")

    @field_validator("motif")
    @classmethod
    def _motif(cls, value: str) -> str:
        return clean_text(value, "motif")


class ObjetIn(In):
    objet: str | None = Field(max_length=10_000, description="Objet corrigé ; null rétablit l'objet reçu")
    motif: str = Field(min_length=1, max_length=2000)

    @field_validator("motif")
    @classmethod
    def _motif(cls, value: str) -> str:
        return clean_text(value, "motif")

    @field_validator("objet")
    @classmethod
    def _objet(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value, "objet")


class DecisionAnnexeIn(In):
    publier: bool
    motif: str = Field(min_length=1, max_length=2000)

    @field_validator("motif")
    @classmethod
    def _motif(cls, value: str) -> str:
        return clean_text(value, "motif")


class ReglagesIn(In):
    open_data: bool | None = Field(description="Publication en open data ; null = valeur par défaut (oui)")
    documents: bool | None = Field(description="Publication des documents ; null = oui")
    annexes: bool | None = Field(description="Publication des annexes ; null = oui")
    motif: str = Field(min_length=1, max_length=2000)

    @field_validator("motif")
    @classmethod
    def _motif(cls, value: str) -> str:
        return clean_text(value, "motif")


class LotItem(In):
    siren: Siren
    id_e: PastellId
    id_d: PastellId
    decision: DecisionOperateur | None
    etag: str | None = Field(description="ETag de la décision lue (null : aucune décision encore)")


class LotIn(In):
    client_request_id: ClientRequestId = Field(
        description="Identifiant choisi par le client : rejouer le même lot n'applique rien deux fois"
    )
    motif: str = Field(min_length=1, max_length=2000)
    items: list[LotItem] = Field(min_length=1)

    @field_validator("motif")
    @classmethod
    def _motif(cls, value: str) -> str:
        return clean_text(value, "motif")


# ---------------------------------------------------------------------------------- API output
class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Moi(Out):
    sub: str
    nom: str | None
    email: str | None
    admin: bool = Field(description="Administrateur OPSN : toutes les collectivités")
    rh: bool = Field(description="Accès aux actes individuels (nature 3)")
    sirens: list[str]


class Apercu(Out):
    """A short-lived presigned URL of a captured file (download, never rendered inline)."""

    role: Literal["acte", "annexe"]
    rang: int
    nom: str
    url: str
    expire_le: datetime


class DecisionOperateurVue(Out):
    decision: DecisionOperateur | None
    motif: str | None
    objet: str | None
    motif_objet: str | None
    modifie_par: str | None
    modifie_le: datetime
    etag: str
    appliquee: bool = Field(description="La chaîne a appliqué cette décision (sinon : dans quelques minutes)")


class ActeResume(Out):
    siren: str
    id_e: str
    id_d: str
    acte_id: str
    annee: int
    nature: int
    nature_libelle: str
    numero: str
    date: str
    objet: str
    coll_nom: str
    decision: str = Field(description="Décision en vigueur dans la chaîne (dernière normalisation)")
    decision_motif: str
    documents_publics: bool
    operateur: DecisionOperateurVue | None
    etag: str | None = Field(description="If-Match pour décider ; null : If-None-Match: *")
    apercus: list[Apercu]


class ActesPage(Out):
    data: list[ActeResume]
    total: int
    suivant: str | None = Field(description="Curseur de la page suivante")
    derniere_normalisation: str | None


class AnnexeVue(Out):
    rang: int
    nom: str
    sha256: str
    publique: bool = Field(description="Publiée aujourd'hui par la chaîne")
    operateur: bool | None = Field(description="Décision de l'opérateur (null : aucune)")
    motif: str | None
    perimee: bool = Field(
        description="Le fichier a changé depuis la décision « publier » : elle ne vaut plus"
    )
    etag: str | None
    apercu: Apercu


class ActeDetail(Out):
    acte: ActeResume
    classification: str | None
    objet_recu: str
    annexes: list[AnnexeVue]
    avertissements: list[str]


class Ecriture(Out):
    """Answer of every change: the object as now stored, its ETag, whether anything was written."""

    modifie: bool
    etag: str
    objet: dict[str, Any]
    audit_id: str | None


class LotResultat(Out):
    siren: str
    id_e: str
    id_d: str
    statut: int = Field(description="200 appliqué ou déjà appliqué, 404, 412 (modifié entre-temps)")
    message: str
    modifie: bool = False
    etag: str | None = None
    actuel: dict[str, Any] | None = None


class LotOut(Out):
    client_request_id: str
    resultats: list[LotResultat]
    appliques: int
    conflits: int


class ReglagesVue(Out):
    siren: str
    fichier_csv: dict[str, bool | None] = Field(description="Valeurs de config/collectivites.csv")
    back_office: dict[str, bool | None] | None
    effectif: dict[str, bool] = Field(description="Ce qu'applique la chaîne (le plus restrictif l'emporte)")
    motif: str | None
    etag: str | None


class JournalPage(Out):
    data: list[AuditEntry]
    suivant: str | None


class PageConfig(Out):
    """What the static page needs to log in (public)."""

    authority: str
    client_id: str
    scope: str
    api: str

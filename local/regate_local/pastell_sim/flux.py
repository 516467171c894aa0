"""Flux definitions served by ``GET /flux``, ``/flux/{flux}`` and ``/flux/{flux}/action``.

Harvesters must read select labels (``acte_nature``, ``publication_open_data``…) from these definitions
rather than hard-coding them (pastell-api.md §11, §19), so the simulator ships definitions shaped like
the real ``definition.yml`` files: field id → properties (``name``, ``type``, ``requis``, ``multiple``,
``index``, ``title``, ``value``…).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NATURES: dict[str, str] = {
    "1": "Délibérations",
    "2": "Actes réglementaires",
    "3": "Actes individuels",
    "4": "Contrats, conventions et avenants",
    "5": "Documents budgétaires et financiers",
    "6": "Autres",
}
NATURE_7 = "Autres (hors contrôle de légalité)"
NATURE_SHORT: dict[str, str] = {"1": "DE", "2": "AR", "3": "AI", "4": "CC", "5": "BF", "6": "AU"}
MAIN_PIECE: dict[str, str] = {
    "1": "99_DE",
    "2": "99_AR",
    "3": "99_AI",
    "4": "99_CO",
    "5": "99_BU",
    "6": "99_AU",
}
NATURE_AUTRE_DETAIL: dict[str, str] = {
    "LD": "Liste des délibérations",
    "AT": "Arrêté temporaire",
    "PV": "Procès-verbal",
    "AP": "Arrêté permanent",
}
# Mégalis pipeline codes (pastell-api.md §19): only "3" triggers automatic publication.
PUBLICATION_OPEN_DATA: dict[str, str] = {"3": "Oui", "1": "Non", "2": "Ne sais pas"}

STUDIO_FLUX: dict[str, tuple[str, str]] = {
    # flux id → (display name, nature code)
    "deliberations-studio": ("Délibérations", "1"),
    "actes-reglementaires-studio": ("Actes réglementaires", "2"),
    "arretes-individuels-studio": ("Arrêtés individuels", "3"),
    "contrats-studio": ("Contrats, conventions et avenants", "4"),
    "documents-budgetaires-studio": ("Documents budgétaires et financiers", "5"),
    "autres-studio": ("Autres actes", "6"),
    "autres-studio-sans-tdt": ("Autres actes (sans transmission en préfecture)", "7"),
}
GENERIC_FLUX: dict[str, str] = {
    "actes-generique": "Actes (générique) - déprécié",
    "actes-automatique": "Actes (automatique) - déprécié",
    "ls-actes": "Actes",
}
ACT_FLUX: tuple[str, ...] = (*GENERIC_FLUX, *STUDIO_FLUX)

# State id → (label, journal message written when the document enters it).
STATES: dict[str, tuple[str, str]] = {
    "creation": ("Créé", "Création du document"),
    "modification": ("En cours de rédaction", "Modification du document"),
    "importation": ("Importé", "Le document a été importé"),
    "orientation": ("Orientation", "sélection automatique de l'action suivante"),
    "pre-send-tdt": ("Préparation de l'envoi au Tdt", "Préparation de l'envoi au TdT"),
    "send-tdt": ("Transmis au TdT", "Le document a été envoyé au TdT"),
    "verif-tdt": ("Statut vérifié par le TdT", "Vérification du statut de la transaction"),
    "acquiter-tdt": ("Acquitté par la préfecture", "L'acte a été acquitté par le contrôle de légalité"),
    "send-tdt-erreur": ("Erreur lors de l'envoi au TdT", "Erreur lors de la transmission au TdT"),
    "annulation-tdt": ("Annulation de la transaction", "Une demande d'annulation a été envoyée au TdT"),
    "verif-annulation-tdt": (
        "Vérification de l'annulation",
        "Vérification de l'annulation de la transaction",
    ),
    "annuler-tdt": ("Transaction annulée", "La transaction a été annulée par le TdT"),
    "tamponner-tdt": ("Retamponner", "Le document a été retamponné"),
    "prepare-ged": ("Préparation du versement à la GED", "Préparation du versement à la GED"),
    "send-ged": ("Versé à la GED", "Le document a été versé à la GED"),
    "termine": ("Traitement terminé", "Traitement terminé"),
    "reouverture": ("Rouvrir le dossier", "Le dossier a été rouvert"),
    "supression": ("Supprimé", "Le document a été supprimé"),
    "fatal-error": ("Erreur fatale", "Erreur irrécupérable"),
}

# Actions a caller with `edition` may run from each state (subset of the real rules, enough for clients).
ACTIONS_FROM_STATE: dict[str, list[str]] = {
    "creation": ["modification", "supression"],
    "modification": ["modification", "supression", "orientation"],
    "importation": ["orientation"],
    "orientation": ["send-tdt", "supression"],
    "pre-send-tdt": ["send-tdt"],
    "send-tdt": ["verif-tdt"],
    "verif-tdt": ["verif-tdt"],
    "acquiter-tdt": ["annulation-tdt", "tamponner-tdt"],
    "tamponner-tdt": ["annulation-tdt", "tamponner-tdt"],
    "send-tdt-erreur": ["send-tdt", "supression"],
    "annulation-tdt": ["verif-annulation-tdt"],
    "verif-annulation-tdt": ["verif-annulation-tdt"],
    "annuler-tdt": ["supression"],
    "send-ged": ["supression"],
    "termine": ["reouverture", "supression"],
    "reouverture": ["modification", "orientation", "supression"],
    "fatal-error": ["supression"],
}


def _field(name: str, kind: str, **props: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **props}


def _act_fields(flux: str) -> dict[str, dict[str, Any]]:
    """Form of an act flux, in the order of the real definitions (§14)."""
    studio = flux in STUDIO_FLUX
    natures = dict(NATURES)
    if studio:
        natures["7"] = NATURE_7
    fields: dict[str, dict[str, Any]] = {
        "acte_nature": _field("Nature de l'acte", "select", requis=True, value=natures),
        "numero_de_lacte": _field(
            "Numéro de l'acte", "text", requis=True, index=True, preg_match="#^[0-9A-Z_]{1,15}$#"
        ),
        "objet": _field("Objet", "textarea", requis=True, title=True, maxlength=499),
        "date_de_lacte": _field("Date de l'acte", "date", requis=True),
        "document_papier": _field("Envoi de documents papiers complémentaires", "checkbox"),
        "arrete": _field("Acte", "file", requis=True),
        "autre_document_attache": _field("Autre document attaché", "file", multiple=True),
        "classification": _field("Classification Actes", "externalData", requis=True),
        "type_piece": _field("Typologie des pièces", "externalData", requis=True),
        "type_piece_fichier": _field("Typologie des pièces (fichier)", "file", read_only=True),
        "type_acte": _field("Type de l'acte", "text", no_show=True),
        "type_pj": _field("Type des pièces jointes", "text", no_show=True),
    }
    if studio or flux == "ls-actes":
        fields |= {
            "envoi_transformation": _field("Transformation", "checkbox"),
            "envoi_signature": _field("Signature", "checkbox"),
            "envoi_tdt_actes": _field("Transmission à la préfecture", "checkbox", default="checked"),
            "envoi_depot": _field("Dépôt", "checkbox"),
            "envoi_sae": _field("Versement SAE", "checkbox"),
        }
    else:
        fields |= {
            "envoi_signature": _field("Transmission à la signature", "checkbox"),
            "envoi_tdt": _field("Transmission au contrôle de légalité", "checkbox"),
            "envoi_ged": _field("Transmission à la GED", "checkbox"),
            "envoi_sae": _field("Transmission au SAE", "checkbox"),
        }
    fields |= {
        "tedetis_transaction_id": _field("Identifiant de la transaction", "text", read_only=True),
        "has_bordereau": _field("Bordereau reçu", "checkbox", no_show=True),
        "bordereau": _field("Bordereau d'acquittement", "file", read_only=True),
        "aractes": _field("Accusé de réception technique", "file", read_only=True),
        "acte_unique_id": _field("Identifiant unique de l'acte", "text", no_show=True, index=True),
        "date_ar": _field("Date de l'accusé de réception", "date", read_only=True),
        "acte_tamponne": _field("Acte tamponné", "file", read_only=True),
        "annexes_tamponnees": _field("Annexe(s) tamponnée(s)", "file", multiple=True, read_only=True),
        "acte_publication_date": _field("Date de publication", "date"),
        "tedetis_annulation_id": _field("Identifiant de la transaction d'annulation", "text", read_only=True),
        "aractes_annulation": _field("Accusé de réception de l'annulation", "file", read_only=True),
        "date_ar_annulation": _field("Date de l'accusé de réception de l'annulation", "date", read_only=True),
        "sae_transfert_id": _field("Identifiant du transfert SAE", "text", index=True, read_only=True),
    }
    if studio:
        fields |= {
            "publication_open_data": _field(
                "Publication open data", "select", value=dict(PUBLICATION_OPEN_DATA), default=""
            ),
            "comment": _field("Commentaire", "text"),
        }
        if flux == "autres-studio-sans-tdt" or flux == "autres-studio":
            fields["nature_autre_detail"] = _field(
                "Précision de la nature", "select", value=NATURE_AUTRE_DETAIL
            )
    return fields


@dataclass(frozen=True)
class FluxDefinition:
    """One installed flux: identity, family label, form and actions."""

    id: str
    nom: str
    famille: str
    fields: dict[str, dict[str, Any]]
    title_field: str = "objet"

    @property
    def file_fields(self) -> set[str]:
        return {k for k, v in self.fields.items() if v["type"] == "file"}

    @property
    def indexed_fields(self) -> set[str]:
        return {k for k, v in self.fields.items() if v.get("index")}

    def actions(self) -> dict[str, dict[str, Any]]:
        """Action definitions as ``GET /flux/{flux}/action`` gives them (``name-action``, ``rule``…)."""
        out: dict[str, dict[str, Any]] = {}
        for state, (label, _message) in STATES.items():
            if self.id == "autres-studio-sans-tdt" and "tdt" in state:
                continue
            sources = sorted(k for k, v in ACTIONS_FROM_STATE.items() if state in v)
            action: dict[str, Any] = {"name": label, "name-action": label}
            if sources:
                action["rule"] = {"last-action": sources, "droit_id_u": f"{self.id}:edition"}
            else:
                action["rule"] = {"no-action": True} if state == "creation" else {"role_id_e": "no-role"}
            out[state] = action
        return out


def default_flux() -> dict[str, FluxDefinition]:
    """Every act flux the simulated platform has installed."""
    flux: dict[str, FluxDefinition] = {}
    for fid, nom in GENERIC_FLUX.items():
        famille = "Flux Généraux" if fid != "ls-actes" else "Actes"
        flux[fid] = FluxDefinition(fid, nom, famille, _act_fields(fid))
    for fid, (nom, _nature) in STUDIO_FLUX.items():
        flux[fid] = FluxDefinition(fid, nom, "Mégalis - Actes", _act_fields(fid))
    return flux

"""The DECP rules the JSON Schema does not encode: the format's prose (``139bercy/format-commande-publique``
``_index.md`` and changelog) and the consolidation's own exclusion rules (MINEF ``decp-arr2022``
``augmente/nettoyage.py``). Each rule has a stable code; ``error`` quarantines the record, ``warning`` keeps
it.

Written defensively: a record may have any shape (rules run even when the schema already failed, so the buyer
sees every problem at once) and a rule never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from typing import Any, Protocol, TypeGuard

from stdnum.eu import vat

from regate.flux.marches.identifiers import is_siret
from regate.flux.marches.model import Finding, Kind, Severity, format_path, items_of
from regate.flux.marches.schema import date_property_names

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The consolidation's plausible range for dates (``PATTERN_DATE = ^20[1-2][0-9]-…``), widened by a decade
#  back.
MIN_YEAR, MAX_YEAR = 2000, 2099
#: Longest durations the consolidation accepts (months): marchés 180, concessions 360.
MAX_DUREE_MOIS: dict[Kind, int] = {"marche": 180, "contrat-concession": 360}
#: Highest amounts it accepts: ``montant`` 3 000 000 000 € HT, ``valeurGlobale`` 15 000 000 000 €.
MAX_MONTANT: dict[Kind, float] = {"marche": 3_000_000_000.0, "contrat-concession": 15_000_000_000.0}
SUSPECT_FROM = 100_000_000.0
#: Identifier formats per ``typeIdentifiant`` (the consolidation's ``check_siret_ext``); SIRET is checked by
#  Luhn.
ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "TAHITI": re.compile(r"[a-zA-Z0-9]{9}"),
    "RIDET": re.compile(r"[a-zA-Z0-9]{10}"),
    "FRWF": re.compile(r"FRWF[a-zA-Z0-9]{14}"),
    "IREP": re.compile(r"[0-9]{5}[a-zA-Z0-9]*"),
    "HORS-UE": re.compile(r"[A-Z]{2}[a-zA-Z0-9]{0,16}"),
}
#: Characters the format asks to avoid in ids (the consolidation excludes the others from its enriched files).
_ID_OK = re.compile(r"[A-Za-z0-9/\-_ .#]{1,16}")
_SOCIAL_NONE, _ENV_NONE = "Pas de considération sociale", "Pas de considération environnementale"


def rule_findings(kind: Kind, record: Any, today: date) -> list[Finding]:
    """Every business-rule finding of one (repaired) record."""
    if not isinstance(record, dict):
        return []
    out: list[Finding] = []
    add = _adder(out)
    _dates(record, today, kind, add)
    if kind == "marche":
        _marche(record, add)
    else:
        _concession(record, add)
    out.sort(key=lambda f: (f.severity, f.path, f.code))
    return out


class Add(Protocol):
    """Records one finding (``detail`` optional)."""

    def __call__(
        self, code: str, severity: Severity, path: str, message: str, detail: Any = None, /
    ) -> None: ...


def _adder(out: list[Finding]) -> Add:
    def add(code: str, severity: Severity, path: str, message: str, detail: Any = None) -> None:
        out.append(
            Finding(code=code, severity=severity, origin="regle", path=path, message=message, detail=detail)
        )

    return add


def parse_iso_date(value: Any) -> date | None:
    """A full ``YYYY-MM-DD`` calendar date, else ``None`` (the schema's pattern is unanchored)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- dates
def _walk(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, [*path, index])


def _dates(record: dict[str, Any], today: date, kind: Kind, add: Add) -> None:
    names = date_property_names()
    for parent, key, value in _walk(record, []):
        if key not in names or not isinstance(value, str):
            continue
        where = format_path([*parent, key])
        parsed = parse_iso_date(value)
        if parsed is None:
            add(
                "date_invalide",
                "error",
                where,
                f"{where} : {value[:40]!r} n'est pas une date AAAA-MM-JJ valide",
                value[:40],
            )
        elif not MIN_YEAR <= parsed.year <= MAX_YEAR:
            add("date_hors_plage", "error", where, f"{where} : année {parsed.year} invraisemblable", value)
    main = "dateNotification" if kind == "marche" else "dateSignature"
    notified = parse_iso_date(record.get(main))
    if notified is not None and notified > today:
        add(
            "date_future",
            "error",
            main,
            f"{main} {notified} postérieure à la date du traitement ({today})",
            str(notified),
        )
    published = parse_iso_date(record.get("datePublicationDonnees"))
    if notified is not None and published is not None and published < notified:
        add(
            "publication_avant_notification",
            "warning",
            "datePublicationDonnees",
            f"Données publiées le {published}, avant la "
            f"{'notification' if kind == 'marche' else 'signature'} ({notified})",
        )


# ------------------------------------------------------------------------------------ marchés
def _marche(record: dict[str, Any], add: Add) -> None:
    acheteur = record.get("acheteur")
    buyer = acheteur.get("id") if isinstance(acheteur, dict) else None
    if isinstance(buyer, str) and re.fullmatch(r"[0-9]{14}", buyer) and not is_siret(buyer):
        add(
            "acheteur_siret_invalide",
            "error",
            "acheteur.id",
            f"SIRET de l'acheteur {buyer} invalide (clé de contrôle)",
            buyer,
        )
    _origines(record, add)
    _avance(record, add)
    _duree_montant(record, "marche", "montant", add)
    _identifiant(record, add)
    _holders(record.get("titulaires"), "titulaires", "titulaire", "error", add)
    _considerations(record, "considerationSociale", _SOCIAL_NONE, add)
    _considerations(record, "considerationEnvironnementale", _ENV_NONE, add)
    notified = parse_iso_date(record.get("dateNotification"))
    _sequence(
        record.get("modifications"),
        "modifications",
        "modification",
        "dateNotificationModification",
        notified,
        add,
    )
    acte_ids = _sequence(
        record.get("actesSousTraitance"),
        "actesSousTraitance",
        "acteSousTraitance",
        "dateNotification",
        notified,
        add,
    )
    for index, item in enumerate(items_of(record.get("actesSousTraitance"))):
        acte = item.get("acteSousTraitance") if isinstance(item, dict) else None
        if isinstance(acte, dict):
            who = acte.get("sousTraitant")
            _holder(who, f"actesSousTraitance[{index}].acteSousTraitance.sousTraitant", "warning", add)
    for index, item in enumerate(items_of(record.get("modifications"))):
        modification = item.get("modification") if isinstance(item, dict) else None
        if isinstance(modification, dict):
            base = f"modifications[{index}].modification"
            _holders(modification.get("titulaires"), f"{base}.titulaires", "titulaire", "warning", add)
            _bounds(modification, base, "marche", "montant", add)
    mods = record.get("modificationsActesSousTraitance")
    _sequence(
        mods,
        "modificationsActesSousTraitance",
        "modificationActeSousTraitance",
        "dateNotificationModificationSousTraitance",
        None,
        add,
        unique=False,
    )
    for index, item in enumerate(mods if isinstance(mods, list) else []):
        inner = item.get("modificationActeSousTraitance") if isinstance(item, dict) else None
        ref = inner.get("id") if isinstance(inner, dict) else None
        if isinstance(ref, int) and ref not in acte_ids:
            path = f"modificationsActesSousTraitance[{index}].modificationActeSousTraitance.id"
            add(
                "modification_acte_inconnu",
                "error",
                path,
                f"La modification vise l'acte de sous-traitance n° {ref}, absent de actesSousTraitance",
                ref,
            )


def _origines(record: dict[str, Any], add: Add) -> None:
    ue, fr = record.get("origineUE"), record.get("origineFrance")
    if _is_number(ue) and _is_number(fr) and ue < fr:
        add(
            "origine_ue_inferieure_france",
            "error",
            "origineUE",
            f"origineUE ({ue}) inférieure à origineFrance ({fr}) : la part UE inclut la part française",
            {"origineUE": ue, "origineFrance": fr},
        )
    elif _is_number(fr) and fr > 0 and "origineUE" not in record:
        add("origine_ue_manquante", "warning", "origineUE", "origineFrance renseignée sans origineUE")


def _avance(record: dict[str, Any], add: Add) -> None:
    avance, taux = record.get("attributionAvance"), record.get("tauxAvance")
    if avance is True and (taux is None or (_is_number(taux) and taux == 0)):
        add(
            "taux_avance_inconnu",
            "warning",
            "tauxAvance",
            "Avance attribuée mais taux inconnu (tauxAvance absent ou 0)",
        )
    elif avance is False and _is_number(taux) and taux > 0:
        add(
            "taux_avance_sans_avance",
            "error",
            "tauxAvance",
            f"tauxAvance {taux} alors qu'aucune avance n'est attribuée",
            taux,
        )


def _identifiant(record: dict[str, Any], add: Add) -> None:
    ident = record.get("id")
    if isinstance(ident, str) and 1 <= len(ident) <= 16 and not _ID_OK.fullmatch(ident):
        add(
            "id_caracteres_deconseilles",
            "warning",
            "id",
            f'Identifiant {ident!r} : caractères à éviter (&, ", \\, <, virgule, point-virgule…)',
            ident,
        )


# -------------------------------------------------------------------------------- concessions
def _concession(record: dict[str, Any], add: Add) -> None:
    autorite = record.get("autoriteConcedante")
    buyer = autorite.get("id") if isinstance(autorite, dict) else None
    if isinstance(buyer, str) and re.fullmatch(r"[0-9]{14}", buyer) and not is_siret(buyer):
        add(
            "acheteur_siret_invalide",
            "error",
            "autoriteConcedante.id",
            f"SIRET de l'autorité concédante {buyer} invalide (clé de contrôle)",
            buyer,
        )
    _duree_montant(record, "contrat-concession", "valeurGlobale", add)
    _identifiant(record, add)
    _holders(record.get("concessionnaires"), "concessionnaires", "concessionnaire", "error", add)
    _considerations(record, "considerationSociale", _SOCIAL_NONE, add)
    _considerations(record, "considerationEnvironnementale", _ENV_NONE, add)
    signed = parse_iso_date(record.get("dateSignature"))
    _sequence(
        record.get("modifications"), "modifications", "modification", "dateSignatureModification", signed, add
    )
    for index, item in enumerate(items_of(record.get("modifications"))):
        modification = item.get("modification") if isinstance(item, dict) else None
        if isinstance(modification, dict):
            _bounds(
                modification,
                f"modifications[{index}].modification",
                "contrat-concession",
                "valeurGlobale",
                add,
            )


# --------------------------------------------------------------------------------- shared rules
def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _duree_montant(record: dict[str, Any], kind: Kind, amount: str, add: Add) -> None:
    _bounds(record, "", kind, amount, add)


def _bounds(node: dict[str, Any], base: str, kind: Kind, amount: str, add: Add) -> None:
    prefix = f"{base}." if base else ""
    duree = node.get("dureeMois")
    if _is_number(duree) and duree > MAX_DUREE_MOIS[kind]:
        add(
            "duree_excessive",
            "error",
            f"{prefix}dureeMois",
            f"Durée de {duree} mois (au-delà de {MAX_DUREE_MOIS[kind]} mois : inexploitable)",
            duree,
        )
    value = node.get(amount)
    if not _is_number(value):
        return
    if value > MAX_MONTANT[kind]:
        add(
            "montant_excessif",
            "error",
            f"{prefix}{amount}",
            f"{amount} de {value} € au-delà de {MAX_MONTANT[kind]:.0f} € : inexploitable",
            value,
        )
    elif _suspect_amount(float(value)):
        add(
            "montant_suspect",
            "error",
            f"{prefix}{amount}",
            f"{amount} {value} probablement erroné (chiffres répétés ou 123456789…)",
            value,
        )


def _suspect_amount(value: float) -> bool:
    """The consolidation's rules: > 100 M€ with one non-zero digit repeated more than 6 times, or
    123456789…"""
    digits = str(int(value)) if value.is_integer() else repr(value)
    if digits.startswith("123456789"):
        return True
    if value <= SUSPECT_FROM:
        return False
    return max(digits.count(d) for d in "123456789") > 6


def _holders(items: Any, path: str, inner: str, severity: Severity, add: Add) -> None:
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        holder = item.get(inner) if isinstance(item, dict) else None
        _holder(holder, f"{path}[{index}].{inner}", severity, add)


def _holder(holder: Any, path: str, severity: Severity, add: Add) -> None:
    if not isinstance(holder, dict):
        return
    kind, ident = holder.get("typeIdentifiant"), holder.get("id")
    if not isinstance(ident, str) or not isinstance(kind, str):
        return
    if kind == "SIRET":
        ok = is_siret(ident)
    elif kind == "TVA":
        ok = vat.is_valid(ident)
        severity = "warning"  # VAT numbers outside the EU formats stdnum knows are not a reason to withhold
    elif kind in ID_PATTERNS:
        ok = bool(ID_PATTERNS[kind].fullmatch(ident))
    else:
        return
    if not ok:
        add(
            "identifiant_invalide",
            severity,
            f"{path}.id",
            f"Identifiant {kind} {ident[:40]!r} invalide",
            ident[:40],
        )


def _considerations(record: dict[str, Any], inner: str, none_value: str, add: Add) -> None:
    outer = "considerationsSociales" if inner == "considerationSociale" else "considerationsEnvironnementales"
    holder = record.get(outer)
    values = holder.get(inner) if isinstance(holder, dict) else None
    if isinstance(values, list) and none_value in values and len(set(values)) > 1:
        add(
            "considerations_contradictoires",
            "error",
            f"{outer}.{inner}",
            f"« {none_value} » combiné à d'autres valeurs",
            values,
        )


def _sequence(
    items: Any,
    path: str,
    inner: str,
    date_field: str,
    start: date | None,
    add: Add,
    unique: bool = True,
) -> set[int]:
    """Ids of a list of numbered acts: unique, and increasing in notification order (§B.1); returns the
    ids."""
    if not isinstance(items, list):
        return set()
    entries: list[tuple[int, date | None, int]] = []
    seen: dict[int, int] = {}
    for index, item in enumerate(items):
        node = item.get(inner) if isinstance(item, dict) else None
        ident = node.get("id") if isinstance(node, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool):
            continue
        if unique and ident in seen:
            add(
                "id_duplique",
                "error",
                f"{path}[{index}].{inner}.id",
                f"{path} : numéro {ident} utilisé deux fois",
                ident,
            )
        seen.setdefault(ident, index)
        when = parse_iso_date(node.get(date_field)) if isinstance(node, dict) else None
        entries.append((ident, when, index))
        if start is not None and when is not None and when < start:
            add(
                "acte_anterieur_au_contrat",
                "warning",
                f"{path}[{index}].{inner}.{date_field}",
                f"{path} n° {ident} notifié le {when}, avant le contrat ({start})",
            )
    if unique:
        dated = sorted((e for e in entries if e[1] is not None), key=lambda e: (e[1], e[0]))
        ids = [e[0] for e in dated]
        if any(b <= a for a, b in pairwise(ids)):
            add(
                "ids_non_croissants",
                "error",
                path,
                f"{path} : les numéros ne croissent pas avec les dates de notification ({ids[:20]})",
                ids[:20],
            )
    return set(seen)

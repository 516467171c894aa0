"""Repairs applied to a record before validation — only the defects real exports are known to have
(``next-flows.md`` §B.2, §B.5), each one logged; everything else is left for validation to judge.

* ``_type`` (2.0.2-era, rejected by 2.0.3/2.0.4) is removed;
* ``null`` values are removed (``origineUE``/``origineFrance`` are ``null`` "when not applicable"; a missing
  *required* field is then reported by the schema, so nothing is invented);
* empty optional arrays (``modifications: []`` …, which break ``minItems: 1``) are removed;
* incomplete ``actesSousTraitance`` entries (the Atexo SDM exports only ``id`` and ``sousTraitant``) are moved
  to the warnings report, with the ``modificationsActesSousTraitance`` that pointed to them;
* integral floats in integer fields (``4.0``) are written as integers, and a fractional ``dureeMois`` is
  rounded up, as the format says durations are.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from regate.flux.marches.model import Finding, Kind, Repair, format_path, items_of

#: Optional arrays with ``minItems: 1`` in 2.0.4, per record kind.
OPTIONAL_NONEMPTY_ARRAYS: dict[Kind, tuple[str, ...]] = {
    "marche": ("actesSousTraitance", "modificationsActesSousTraitance", "modifications"),
    "contrat-concession": ("modifications",),
}
INTEGER_FIELDS = frozenset({"dureeMois", "offresRecues", "id"})
ACTE_REQUIRED = (
    "id",
    "sousTraitant",
    "dureeMois",
    "dateNotification",
    "datePublicationDonnees",
    "montant",
    "variationPrix",
)


def repair_record(kind: Kind, record: Any) -> tuple[Any, list[Repair], list[Finding]]:
    """A repaired deep copy of ``record``, the repairs made, and the warnings they produce (moved data)."""
    if not isinstance(record, dict):
        return record, [], []
    out = copy.deepcopy(record)
    repairs: list[Repair] = []
    warnings: list[Finding] = []
    if "_type" in out:
        repairs.append(
            Repair(
                code="type_supprime",
                path="_type",
                message="Champ _type (format 2.0.2) retiré",
                removed=out.pop("_type"),
            )
        )
    _drop_nulls(out, [], repairs)
    _integers(out, [], repairs)
    if kind == "marche":
        _incomplete_actes(out, repairs, warnings)
    for name in OPTIONAL_NONEMPTY_ARRAYS[kind]:
        if out.get(name) == []:
            del out[name]
            repairs.append(
                Repair(code="liste_vide_supprimee", path=name, message=f"Liste vide « {name} » retirée")
            )
    for index, item in enumerate(items_of(out.get("modifications"))):
        modification = item.get("modification") if isinstance(item, dict) else None
        if isinstance(modification, dict) and modification.get("titulaires") == []:
            del modification["titulaires"]
            path = f"modifications[{index}].modification.titulaires"
            repairs.append(
                Repair(code="liste_vide_supprimee", path=path, message="Liste vide de titulaires retirée")
            )
    return out, repairs, warnings


def _drop_nulls(node: Any, path: list[Any], repairs: list[Repair]) -> None:
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if v is None]:
            del node[key]
            repairs.append(
                Repair(
                    code="valeur_null_supprimee",
                    path=format_path([*path, key]),
                    message=f"Valeur null de « {key} » retirée",
                )
            )
        for key, value in node.items():
            _drop_nulls(value, [*path, key], repairs)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _drop_nulls(value, [*path, index], repairs)


def _integers(node: Any, path: list[Any], repairs: list[Repair]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in INTEGER_FIELDS and isinstance(value, float) and math.isfinite(value):
                where = format_path([*path, key])
                if value.is_integer():
                    node[key] = int(value)
                    repairs.append(
                        Repair(code="entier_normalise", path=where, message=f"{value!r} écrit {int(value)}")
                    )
                elif key == "dureeMois" and value > 0:
                    node[key] = math.ceil(value)
                    repairs.append(
                        Repair(
                            code="duree_arrondie",
                            path=where,
                            message=f"Durée {value!r} arrondie au mois supérieur ({node[key]})",
                        )
                    )
            else:
                _integers(value, [*path, key], repairs)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _integers(value, [*path, index], repairs)


def _incomplete_actes(record: dict[str, Any], repairs: list[Repair], warnings: list[Finding]) -> None:
    actes = record.get("actesSousTraitance")
    if not isinstance(actes, list):
        return
    kept: list[Any] = []
    removed_ids: set[Any] = set()
    for index, item in enumerate(actes):
        acte = item.get("acteSousTraitance") if isinstance(item, dict) else None
        if not isinstance(acte, dict):
            kept.append(item)  # malformed: left for the schema to reject
            continue
        missing = [name for name in ACTE_REQUIRED if name not in acte]
        if not missing or "id" in missing:
            kept.append(item)  # complete, or without id (cannot be referenced): the schema decides
            continue
        removed_ids.add(acte.get("id"))
        path = f"actesSousTraitance[{index}]"
        repairs.append(
            Repair(
                code="acte_sous_traitance_incomplet",
                path=path,
                message="Acte de sous-traitance incomplet déplacé dans le rapport",
                removed=item,
            )
        )
        warnings.append(
            Finding(
                code="acte_sous_traitance_incomplet",
                severity="warning",
                origin="reparation",
                path=path,
                message=(
                    f"Acte de sous-traitance n° {acte.get('id')} incomplet "
                    f"(manque : {', '.join(missing)}) : non publié"
                ),
                detail=item,
            )
        )
    if len(kept) == len(actes):
        return
    record["actesSousTraitance"] = kept
    modifications = record.get("modificationsActesSousTraitance")
    if isinstance(modifications, list) and removed_ids:
        remaining: list[Any] = []
        for index, item in enumerate(modifications):
            inner = item.get("modificationActeSousTraitance") if isinstance(item, dict) else None
            if isinstance(inner, dict) and inner.get("id") in removed_ids:
                path = f"modificationsActesSousTraitance[{index}]"
                repairs.append(
                    Repair(
                        code="modification_acte_orpheline",
                        path=path,
                        message="Modification d'un acte retiré déplacée dans le rapport",
                        removed=item,
                    )
                )
                warnings.append(
                    Finding(
                        code="modification_acte_orpheline",
                        severity="warning",
                        origin="reparation",
                        path=path,
                        message=(
                            f"Modification de l'acte de sous-traitance n° {inner.get('id')} "
                            "(acte incomplet) : non publiée"
                        ),
                        detail=item,
                    )
                )
            else:
                remaining.append(item)
        record["modificationsActesSousTraitance"] = remaining

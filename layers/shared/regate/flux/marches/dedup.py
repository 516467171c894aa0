"""Deduplication the way the official consolidation does it (MINEF ``decp-arr2022``, ``GlobalProcess``).

* A record's identity is, for a marché, ``(id, acheteur.id, first titulaire id, dateNotification, montant)``
  and for a concession ``(id, autoriteConcedante.id, first concessionnaire id, dateDebutExecution,
  valeurGlobale)`` — holders sorted by id first (their order in the input does not matter), amounts truncated
  to whole euros (the consolidation rounds them with ``int()`` before comparing).
* Among records sharing an identity the one with the latest "max date" wins: the later of
  ``datePublicationDonnees`` and the last ``datePublicationDonneesModification``, floored to 2024-01-01; on a
  tie
  the one read last wins (stable sort, ``keep='last'``). A re-export with more modifications thus replaces the
  earlier one.

Two kept records with the same ``(acheteur, id)`` but different identities (a corrected montant, say) are both
kept, as the consolidation does; :func:`deduplicate` reports them as ``versions_concurrentes`` for the
operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from regate.flux.marches.model import Kind, items_of

FLOOR_DATE = "2024-01-01"


class Keyed(Protocol):
    kind: Kind
    record: dict[str, Any]


def _holder_ids(items: Any, inner: str) -> list[str]:
    ids: list[str] = []
    for item in items if isinstance(items, list) else []:
        holder = item.get(inner) if isinstance(item, dict) else None
        if isinstance(holder, dict) and holder.get("id") is not None:
            ids.append(str(holder["id"]))
    return sorted(ids)


def _amount(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value))
    return str(value)


def identity(kind: Kind, record: dict[str, Any]) -> tuple[str, ...]:
    """The consolidation's duplicate key of one record."""
    if kind == "marche":
        buyer = (record.get("acheteur") or {}).get("id")
        holders = _holder_ids(record.get("titulaires"), "titulaire")
        return (
            kind,
            str(record.get("id")),
            str(buyer),
            holders[0] if holders else "",
            str(record.get("dateNotification")),
            _amount(record.get("montant")),
        )
    buyer = (record.get("autoriteConcedante") or {}).get("id")
    holders = _holder_ids(record.get("concessionnaires"), "concessionnaire")
    return (
        kind,
        str(record.get("id")),
        str(buyer),
        holders[0] if holders else "",
        str(record.get("dateDebutExecution")),
        _amount(record.get("valeurGlobale")),
    )


def max_date(record: dict[str, Any]) -> str:
    """Latest publication date of the record or of its modifications (ISO strings compare as dates)."""
    dates = [record.get("datePublicationDonnees")]
    for item in items_of(record.get("modifications")):
        modification = item.get("modification") if isinstance(item, dict) else None
        if isinstance(modification, dict):
            dates.append(modification.get("datePublicationDonneesModification"))
    valid = [d for d in dates if isinstance(d, str)]
    return max([FLOOR_DATE, *valid])


@dataclass(frozen=True)
class Duplicate:
    """``dropped`` (index in the input) lost to ``kept`` (index) on ``key``."""

    key: tuple[str, ...]
    kept: int
    dropped: int


@dataclass(frozen=True)
class Dedup:
    kept: list[int]  # indexes into the input, in input order
    duplicates: list[Duplicate]
    concurrent: list[tuple[tuple[str, str, str], list[int]]]  # (kind, acheteur, id) → kept indexes


def deduplicate(items: Sequence[Keyed]) -> Dedup:
    """Which of ``items`` survive, per the consolidation's rule (order of ``items`` breaks ties: last
    wins)."""
    order = sorted(
        range(len(items)), key=lambda i: max_date(items[i].record)
    )  # stable: ties keep input order
    winner: dict[tuple[str, ...], int] = {}
    for index in order:
        winner[identity(items[index].kind, items[index].record)] = index  # later (newer) overwrites
    kept = sorted(winner.values())
    duplicates = [
        Duplicate(key=key, kept=winner[key], dropped=i)
        for i in range(len(items))
        for key in [identity(items[i].kind, items[i].record)]
        if winner[key] != i
    ]
    by_contract: dict[tuple[str, str, str], list[int]] = {}
    for index in kept:
        key = identity(items[index].kind, items[index].record)
        by_contract.setdefault((key[0], key[2], key[1]), []).append(index)
    concurrent = [
        (contract, indexes) for contract, indexes in sorted(by_contract.items()) if len(indexes) > 1
    ]
    return Dedup(kept=kept, duplicates=duplicates, concurrent=concurrent)

"""Which documents count: the latest sealed version per (budget, stage).

A collectivité often sends a BP or a CA again (a correction, a re-seal): only the latest sealing counts,
or the SCDL file would add the two. The key (next-flows §A.2 "Which document per stage"):

* budget = ``(SIRET, CodBud or LibelleEtab, exercice)`` — the SIRET alone would merge budgets annexes;
* stage slot: ``BP``; ``compte`` for CA **and** CFU (the CFU replaces the CA: one account per exercice);
  DMs and BSs are separate decisions, each kept, so their slot is ``(stage, DteDec)`` — two sealings of
  the same DM (same decision date) keep the latest only.

Latest = greatest ``Scellement/@date``; a document without one loses to any sealed one; ties keep the
later in input order (callers pass documents in a stable order, e.g. sorted storage keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from regate.flux.budgets.model import Etape, TotemMetadata

T = TypeVar("T")

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def version_key(metadata: TotemMetadata) -> tuple[str, str, int, str, str]:
    """``(siret, budget, exercice, slot, decision date)``: documents with the same key replace each other."""
    etape = metadata.etape
    if etape in (Etape.CA, Etape.CFU):
        slot, decision = "compte", ""
    elif etape is Etape.BP:
        slot, decision = "BP", ""
    else:
        slot = etape.value
        decision = metadata.date_decision.isoformat() if metadata.date_decision else ""
    return metadata.siret, metadata.budget.strip().upper(), metadata.exercice, slot, decision


@dataclass
class Selection(Generic[T]):
    """The documents kept, and each one set aside with the one that replaces it."""

    gardes: list[T] = field(default_factory=list)
    remplaces: list[tuple[T, T]] = field(default_factory=list)


def latest_sealed(documents: Iterable[T], metadata: Callable[[T], TotemMetadata]) -> Selection[T]:
    """Keep the latest sealed document per :func:`version_key` (pure: no I/O, input order as tie-break).

    ``metadata`` extracts the :class:`TotemMetadata` of an item (items can be readings, stored records…).
    ``gardes`` follows the input order of the kept documents.
    """
    best: dict[tuple[str, str, int, str, str], tuple[tuple[bool, datetime, int], int]] = {}
    items = list(documents)
    for position, item in enumerate(items):
        meta = metadata(item)
        sealed = meta.scellement
        rank = (sealed is not None, sealed or _EPOCH, position)
        key = version_key(meta)
        current = best.get(key)
        if current is None or rank > current[0]:
            best[key] = (rank, position)
    winners = {position for _, position in best.values()}
    selection: Selection[T] = Selection()
    winner_of = {key: items[position] for key, (_, position) in best.items()}
    for position, item in enumerate(items):
        if position in winners:
            selection.gardes.append(item)
        else:
            selection.remplaces.append((item, winner_of[version_key(metadata(item))]))
    return selection

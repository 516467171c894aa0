"""Back-office objects + ``config/overrides.csv`` → what the publication decision needs.

:mod:`regate.normalize.decision` takes an :class:`~regate.normalize.decision.Overrides` and one
:class:`~regate.normalize.decision.CollectiviteSwitches` per act. This adapter builds them from both sources
of operator intent, plus what the decision code cannot express yet (per-annex decisions, corrected objets),
so the normaliser can use it without knowing where decisions come from.

Precedence between ``config/overrides.csv`` and the back-office objects — **the more restrictive wins**:

* act: ``retenir`` > ``a_statuer`` > ``metadonnees`` > ``publier``; when both say the same, the object is
  kept (its motif is the latest). So a CSV ``retenir`` cannot be lifted from the back-office (the page says
  so), and a back-office ``retenir`` is applied whatever the CSV says. Object overrides match by ``id_d``
  and are checked against CSV lines matching by ``id_d`` or by numéro;
* switches (``open_data``, ``documents``, ``annexes``): ``non`` in either wins, then ``oui``, else default;
* an object that cannot be read (and has no readable older S3 version) fails closed: the act becomes
  ``a_statuer``, the annex is withheld, the collectivité's three switches are off; each is reported.

Annexes: a ``retenir`` applies to the annex slot whatever its bytes become; a ``publier`` applies only to
the bytes decided on (``sha256``), so a replaced file is never published on an old decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from regate.admin.models import ActeSurcharge, AnnexeSurcharge, CollectiviteReglages
from regate.admin.storage import Current, DecisionStore
from regate.normalize.decision import CollectiviteSwitches, Override, Overrides
from regate.storage import layout
from regate.storage.store import ObjectStore

#: How restrictive a decision is (the higher wins when two sources disagree).
RESTRICTIVENESS = {"publier": 0, "metadonnees": 1, "a_statuer": 2, "retenir": 3}
#: ``Override.line`` of back-office overrides: numbered after any CSV line, distinct per object.
OBJECT_LINE_BASE = 1_000_000
UNREADABLE_MOTIF = "decision_back_office_illisible"
SWITCHES = ("open_data", "documents", "annexes")


@dataclass(frozen=True)
class Probleme:
    """An object that could not be used as written (reported by the run, alarmed)."""

    cle: str
    code: str
    message: str


@dataclass
class DecisionInputs:
    """Everything operators decided, ready for :func:`regate.normalize.decision.decide` and the records."""

    overrides: Overrides
    actes: dict[tuple[str, str], ActeSurcharge] = field(default_factory=dict)
    annexes: dict[tuple[str, str], dict[int, AnnexeSurcharge | None]] = field(default_factory=dict)
    reglages: dict[str, CollectiviteReglages | None] = field(default_factory=dict)
    problemes: list[Probleme] = field(default_factory=list)

    def switches(
        self,
        siren: str,
        open_data: bool | None = None,
        documents: bool | None = None,
        annexes: bool | None = None,
    ) -> CollectiviteSwitches:
        """The CSV's values for ``siren`` combined with the back-office's (``non`` wins)."""
        csv = {"open_data": open_data, "documents": documents, "annexes": annexes}
        if siren not in self.reglages:
            return CollectiviteSwitches(**csv)
        stored = self.reglages[siren]
        if stored is None:  # unreadable: fail closed
            return CollectiviteSwitches(open_data=False, documents=False, annexes=False)
        return CollectiviteSwitches(
            **{name: combine_switch(csv[name], getattr(stored, name)) for name in SWITCHES}
        )

    def annexe_publique(self, siren: str, id_d: str, rang: int, sha256: str, par_defaut: bool) -> bool:
        """Whether one annex of a published act is public (``par_defaut``: the collectivité's switch)."""
        decisions = self.annexes.get((siren, id_d))
        if not decisions or rang not in decisions:
            return par_defaut
        decided = decisions[rang]
        if decided is None or not decided.publier:
            return False
        return True if decided.sha256 == sha256 else par_defaut

    def objet(self, siren: str, id_d: str, recu: str) -> str:
        """The objet to publish: the operator's correction when there is one."""
        stored = self.actes.get((siren, id_d))
        return stored.objet if stored is not None and stored.objet else recu

    def digest(self, siren: str, id_d: str) -> str:
        """Stable digest of the back-office inputs of one act (record staleness): payloads, not ETags."""
        parts: dict[str, Any] = {}
        acte = self.actes.get((siren, id_d))
        if acte is not None:
            parts["acte"] = acte.payload()
        annexes = self.annexes.get((siren, id_d)) or {}
        parts["annexes"] = {str(r): (a.payload() if a else None) for r, a in sorted(annexes.items())}
        if siren in self.reglages:
            stored = self.reglages[siren]
            parts["reglages"] = stored.payload() if stored else None
        text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def combine_switch(csv: bool | None, stored: bool | None) -> bool | None:
    if csv is False or stored is False:
        return False
    if csv is True or stored is True:
        return True
    return None


def more_restrictive(a: str, b: str) -> bool:
    """``a`` is strictly more restrictive than ``b``."""
    return RESTRICTIVENESS[a] > RESTRICTIVENESS[b]


def fold_overrides(
    csv: Overrides, actes: Iterable[ActeSurcharge], unreadable: Iterable[tuple[str, str]] = ()
) -> Overrides:
    """The CSV overrides with the back-office decisions folded in (precedence: module docstring).

    ``unreadable``: ``(siren, id_d)`` of act objects that could not be read → ``a_statuer``.
    """
    merged = Overrides(by_id_d=dict(csv.by_id_d), by_numero=dict(csv.by_numero))
    line = OBJECT_LINE_BASE
    for stored in sorted(actes, key=lambda a: (a.siren, a.id_e, a.id_d)):
        if stored.decision is None:
            continue
        line += 1
        mine = Override(
            siren=stored.siren,
            id_d=stored.id_d,
            numero=stored.numero,
            decision=stored.decision,
            motif=f"back-office : {stored.motif or ''}"[:300],
            line=line,
        )
        theirs = csv.find(stored.siren, stored.id_d, stored.numero)
        chosen = theirs if theirs is not None and more_restrictive(theirs.decision, mine.decision) else mine
        merged.by_id_d[f"{stored.siren}/{stored.id_d}"] = chosen
    for siren, id_d in sorted(set(unreadable)):
        line += 1
        merged.by_id_d[f"{siren}/{id_d}"] = Override(
            siren=siren, id_d=id_d, numero=None, decision="a_statuer", motif=UNREADABLE_MOTIF, line=line
        )
    return merged


def load_decision_inputs(
    curated: ObjectStore,
    csv_overrides: Overrides | None = None,
    sirens: Iterable[str] | None = None,
    workers: int = 8,
) -> DecisionInputs:
    """Read every back-office object (of ``sirens``, or all) and fold them with the parsed CSV overrides.

    The CSV is parsed by the caller (the normaliser owns its fail-closed reading of operator files)."""
    store = DecisionStore(curated)
    if sirens is None:
        prefixes = [layout.ADMIN_DECISIONS_PREFIX, layout.ADMIN_COLLECTIVITES_PREFIX]
        keys = [k for prefix in prefixes for k in curated.list_keys(prefix)]
    else:
        keys = []
        for siren in sorted(set(sirens)):
            keys.extend(curated.list_keys(layout.admin_decisions_prefix(siren)))
            key = layout.admin_collectivite_key(siren)
            if curated.exists(key):
                keys.append(key)
    parsed = [(key, layout.parse_admin_config_key(key)) for key in keys]
    models: dict[str, type[BaseModel]] = {
        "acte": ActeSurcharge,
        "annexe": AnnexeSurcharge,
        "collectivite": CollectiviteReglages,
    }
    wanted = [(key, p) for key, p in parsed if p is not None]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted) or 1))) as pool:
        read: list[Current[BaseModel]] = list(
            pool.map(lambda item: store.read_last_good(item[0], models[item[1][0]]), wanted)
        )
    inputs = DecisionInputs(overrides=csv_overrides or Overrides())
    unreadable: list[tuple[str, str]] = []
    for (key, (kind, siren, _id_e, id_d, rang)), current in zip(wanted, read, strict=True):
        value = current.value
        if value is not None and not _belongs(value, siren, _id_e, id_d, rang):
            value = None
            current = current.__class__(None, current.etag, problem="objet rangé sous une autre clé")
        if current.problem:
            code = "illisible_version_precedente" if value is not None else "illisible"
            inputs.problemes.append(Probleme(cle=key, code=code, message=current.problem))
        if kind == "acte":
            if isinstance(value, ActeSurcharge):
                inputs.actes[(siren, value.id_d)] = value
            elif current.exists:
                unreadable.append((siren, id_d or ""))
        elif kind == "annexe" and rang is not None:
            inputs.annexes.setdefault((siren, id_d or ""), {})[rang] = (
                value if isinstance(value, AnnexeSurcharge) else None
            )
        elif kind == "collectivite":
            inputs.reglages[siren] = value if isinstance(value, CollectiviteReglages) else None
    inputs.overrides = fold_overrides(inputs.overrides, inputs.actes.values(), unreadable)
    return inputs


def _belongs(value: Any, siren: str, id_e: str | None, id_d: str | None, rang: int | None) -> bool:
    """An object copied under another act's key must not decide for that act (nor for its own)."""
    if getattr(value, "siren", None) != siren:
        return False
    if id_d is not None and (getattr(value, "id_d", None), getattr(value, "id_e", None)) != (id_d, id_e):
        return False
    return rang is None or getattr(value, "rang", None) == rang

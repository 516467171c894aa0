"""In-memory platform state: entities, accounts and rights, documents with their history, the journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regate_local.pastell_sim.flux import STATES, FluxDefinition
from regate_local.pastell_sim.seed import PastellSeed, SeedAccount, SeedEntity, act_context, generate_file

# Journal event types (pastell-api.md §10).
DOCUMENT_ACTION = 1
DOCUMENT_CONSULTATION = 7


@dataclass
class FileSlot:
    """One file of a field; ``content`` None = the slot is set but the file is missing on disk."""

    name: str
    content: bytes | None


@dataclass
class HistoryEntry:
    action: str
    date: str
    message: str
    id_u: str = "0"


@dataclass
class Document:
    id_d: str
    id_e: str
    type: str
    data: dict[str, str]
    files: dict[str, list[FileSlot]]
    history: list[HistoryEntry]
    creation: str
    modification: str

    @property
    def last(self) -> HistoryEntry:
        return self.history[-1]

    def titre(self, flux: FluxDefinition | None) -> str:
        return self.data.get(flux.title_field if flux else "objet", "")

    def passed_through(self, state: str) -> bool:
        return any(h.action == state for h in self.history)

    def form_values(self) -> dict[str, Any]:
        """``data`` of the detail: only fields ever set, files as arrays of original names (§8)."""
        out: dict[str, Any] = dict(self.data)
        for key, slots in self.files.items():
            out[key] = [s.name for s in slots]
        return out


@dataclass
class JournalEvent:
    id_j: int
    type: int
    id_e: str
    id_u: str
    id_d: str
    action: str
    message: str
    date: str
    document_type: str
    titre: str


@dataclass
class Account:
    id_u: str
    login: str
    password: str
    token: str | None
    nom: str
    prenom: str
    email: str
    active: bool
    roles: list[tuple[str, frozenset[str]]] = field(default_factory=list)

    @classmethod
    def from_seed(cls, s: SeedAccount) -> Account:
        return cls(
            s.id_u,
            s.login,
            s.password,
            s.token,
            s.nom,
            s.prenom,
            s.email,
            s.active,
            [(r.id_e, frozenset(r.droits)) for r in s.roles],
        )


class Platform:
    """Entities, accounts, documents and journal; every public method expects the caller to hold the lock."""

    def __init__(self, seed: PastellSeed, flux: dict[str, FluxDefinition]) -> None:
        self.seed = seed
        self.flux = flux
        self.entities: dict[str, SeedEntity] = {e.id_e: e for e in seed.entities}
        self.accounts: dict[str, Account] = {a.login: Account.from_seed(a) for a in seed.accounts}
        self.documents: dict[str, Document] = {}
        self.journal: list[JournalEvent] = []
        pending: list[tuple[str, Document, HistoryEntry]] = []
        for sd in seed.documents:
            entity = self.entities[sd.id_e]
            ctx = act_context(sd, entity)
            files: dict[str, list[FileSlot]] = {}
            for fname, specs in sd.files.items():
                files[fname] = [FileSlot(*generate_file(spec, fname, i, ctx)) for i, spec in enumerate(specs)]
            history = [HistoryEntry(h.action, h.date, h.resolved_message) for h in sd.history]
            doc = Document(
                sd.id_d, sd.id_e, sd.type, dict(sd.data), files, history, history[0].date, history[-1].date
            )
            self.documents[doc.id_d] = doc
            pending.extend((h.date, doc, h) for h in history)
        # Seeded history becomes type-1 journal events, numbered in chronological order.
        for _date, doc, h in sorted(pending, key=lambda t: (t[0], t[1].id_d)):
            self.log_event(DOCUMENT_ACTION, doc, h.action, h.message, h.date, h.id_u)

    # --- entities and rights -----------------------------------------------------------------------------

    def ancestors(self, id_e: str) -> list[str]:
        """``id_e`` and its ancestors up to the root (rights granted on a parent apply below it)."""
        chain: list[str] = []
        current = id_e
        while current in self.entities and current not in chain:
            chain.append(current)
            current = self.entities[current].entite_mere
        return chain

    def has_right(self, account: Account, id_e: str, droit: str) -> bool:
        scope = {"0", *self.ancestors(id_e)}
        family, _, level = droit.partition(":")
        for role_id_e, droits in account.roles:
            if role_id_e not in scope:
                continue
            if droit in droits:
                return True
            if family in self.flux and f"*:{level}" in droits:
                return True
        return False

    def visible_entities(self, account: Account) -> list[SeedEntity]:
        return [e for e in self.entities.values() if self.has_right(account, e.id_e, "entite:lecture")]

    def readable_flux(self, account: Account) -> list[str]:
        """Flux on which the account has ``lecture`` somewhere."""
        out = []
        for fid in self.flux:
            if any(self.has_right(account, id_e, f"{fid}:lecture") for id_e in ["0", *self.entities]):
                out.append(fid)
        return out

    # --- journal -----------------------------------------------------------------------------------------

    def log_event(
        self,
        type_: int,
        doc: Document | None,
        action: str,
        message: str,
        date: str,
        id_u: str = "0",
        id_e: str | None = None,
    ) -> JournalEvent:
        event = JournalEvent(
            id_j=len(self.journal) + 1,
            type=type_,
            id_e=doc.id_e if doc else (id_e or "0"),
            id_u=id_u,
            id_d=doc.id_d if doc else "",
            action=action,
            message=message,
            date=date,
            document_type=doc.type if doc else "",
            titre=doc.titre(self.flux.get(doc.type)) if doc else "",
        )
        self.journal.append(event)
        return event

    def event_json(self, e: JournalEvent) -> dict[str, Any]:
        entity = self.entities.get(e.id_e)
        account = next((a for a in self.accounts.values() if a.id_u == e.id_u), None)
        flux = self.flux.get(e.document_type)
        return {
            "id_j": str(e.id_j),
            "type": str(e.type),
            "id_e": e.id_e,
            "id_u": e.id_u,
            "id_d": e.id_d,
            "action": e.action,
            "message": e.message,
            "date": e.date,
            "date_horodatage": e.date,
            "message_horodate": (
                f"{e.type} - {e.id_e} - {e.id_u} - {e.id_d} - {e.action} - {e.message} - {e.date}"
                f" - {e.document_type}"
            ),
            "document_type": e.document_type,
            "titre": e.titre,
            "denomination": entity.denomination if entity else "",
            "nom": account.nom if account else "",
            "prenom": account.prenom if account else "",
            "siren": entity.siren if entity else "",
            "document_type_libelle": flux.nom if flux else "",
            "action_libelle": STATES.get(e.action, (e.action, ""))[0],
        }

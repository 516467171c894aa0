"""One answer to "who is this SIREN?", merging the operator config, the reference table, Sirene and Pastell.

Precedence (issue 3): the operator's ``siret``/``nom`` win over every other source; then the shipped reference
table; then the recherche d'entreprises API (SIRET only); then Pastell's ``denomination`` (name only). A SIREN
nobody knows is kind ``autre`` (syndicats, CCAS… are legitimate publishers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from regate.clock import Clock
from regate.collectivites.config import normalize_siren, parse_collectivites_csv
from regate.collectivites.models import Collectivite, CollectiviteConfig, ConfigProblem
from regate.collectivites.reference import ReferenceData
from regate.collectivites.siret import SiretResolver, default_session
from regate.http.retry import RetryingSession
from regate.operator_files import LoadedFile, load_last_good
from regate.storage import layout
from regate.storage.store import ObjectStore

if TYPE_CHECKING:
    from regate.settings import Settings


class CollectiviteDirectory:
    """Merged, memoised view of the collectivités; cheap to call once per act."""

    def __init__(
        self,
        reference: ReferenceData,
        config: dict[str, CollectiviteConfig],
        resolver: SiretResolver | None,
    ) -> None:
        self.reference = reference
        self._config = dict(config)
        self.resolver = resolver
        self._described: dict[tuple[str, str | None], Collectivite] = {}
        #: which version of ``config/collectivites.csv`` is in use (``unreadable`` → decisions withheld)
        self.config_file: LoadedFile = LoadedFile(key=layout.CONFIG_COLLECTIVITES_KEY, status="absent")

    @classmethod
    def from_store(
        cls,
        curated: ObjectStore,
        settings: Settings,
        *,
        reference: ReferenceData | None = None,
        session: RetryingSession | None = None,
        clock: Clock | None = None,
    ) -> tuple[CollectiviteDirectory, list[ConfigProblem]]:
        """Directory from ``config/collectivites.csv`` in the curated bucket (absent file = all defaults).

        A refused current version (any ``error`` problem) is never half-applied: the newest older S3 version
        that parses is used instead, and :attr:`config_file` says so (``last_good``, or ``unreadable`` when
        none parses — the normaliser then withholds every act). ``problems`` are the current version's.
        """
        loaded = load_last_good(
            curated,
            layout.CONFIG_COLLECTIVITES_KEY,
            parse_collectivites_csv,
            max_versions=getattr(settings, "operator_file_max_versions", 50),
        )
        config: dict[str, CollectiviteConfig] = loaded.value
        problems: list[ConfigProblem] = list(loaded.file.problems)
        resolver = SiretResolver(
            store=curated,
            session=session or default_session(settings.recherche_entreprises_timeout_seconds, clock),
            enabled=settings.recherche_entreprises_enabled,
            base_url=settings.recherche_entreprises_url,
            clock=clock,
            timeout=settings.recherche_entreprises_timeout_seconds,
        )
        directory = cls(reference or ReferenceData.load_default(), config, resolver)
        directory.config_file = loaded.file
        return directory, problems

    def config(self, siren: str) -> CollectiviteConfig:
        """The operator's values for ``siren``; every field ``None`` (= default) when it has no row."""
        return self._config.get(siren) or CollectiviteConfig(siren=siren)

    def configured_sirens(self) -> list[str]:
        return sorted(self._config)

    def describe(self, siren: str, pastell_denomination: str | None = None) -> Collectivite:
        """Everything known about ``siren`` (never raises; unknown → kind ``autre``)."""
        key = (siren, pastell_denomination)
        if key in self._described:
            return self._described[key]
        config = self._config.get(siren)
        reference = self.reference.get(siren)
        denomination = " ".join((pastell_denomination or "").split()) or None

        nom = (
            (config.nom if config else None)
            or (reference.nom if reference else None)
            or denomination
            or siren
        )
        siret = (config.siret if config else None) or (reference.siret if reference else None)
        if siret is None and self.resolver is not None and normalize_siren(siren) is not None:
            siret = self.resolver.resolve(siren)

        if reference is not None:
            described = reference.model_copy(update={"nom": nom, "siret": siret})
        else:
            described = Collectivite(
                siren=siren,
                nom=nom,
                siret=siret,
                code_insee=None,
                kind="autre",
                population=None,
                lon=None,
                lat=None,
                departement=None,
                epci_siren=None,
                epci_nom=None,
            )
        self._described[key] = described
        return described

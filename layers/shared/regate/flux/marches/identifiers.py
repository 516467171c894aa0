"""SIREN / SIRET checks for DECP (python-stdnum), kept free of any other Rég@te import so the module can move
to the project's single home for identifiers unchanged.

Strict on purpose: the DECP schema wants exactly 14 digits, so spaces or dots are *not* compacted here (a
"356 000 000 00048" is a format error to report, not a value to fix silently).
"""

from __future__ import annotations

import re

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as _siren
from stdnum.fr import siret as _siret

_DIGITS_9 = re.compile(r"[0-9]{9}")
_DIGITS_14 = re.compile(r"[0-9]{14}")


def is_siren(value: object) -> bool:
    """Nine digits passing the Luhn check (stdnum ``fr.siren``)."""
    return isinstance(value, str) and bool(_DIGITS_9.fullmatch(value)) and _siren.is_valid(value)


def is_siret(value: object) -> bool:
    """Fourteen digits passing stdnum ``fr.siret`` (Luhn, with La Poste's établissements exception)."""
    return isinstance(value, str) and bool(_DIGITS_14.fullmatch(value)) and _siret.is_valid(value)


def siren_of(siret: str) -> str:
    """The SIREN (first nine digits) of a SIRET; ``ValueError`` if ``siret`` is not a valid SIRET."""
    if not is_siret(siret):
        raise ValueError(f"Not a valid SIRET: {siret!r}")
    return siret[:9]


def siret_with_nic(siren: str, nic_prefix: str = "0001") -> str:
    """The first SIRET ``siren + nic_prefix + d`` whose Luhn check passes (fictitious establishments in tests
    and simulators; never a way to "guess" a real SIRET)."""
    if not is_siren(siren) or not re.fullmatch(r"[0-9]{4}", nic_prefix):
        raise ValueError(f"Bad SIREN or NIC prefix: {siren!r}, {nic_prefix!r}")
    base = siren + nic_prefix
    digit = luhn.calc_check_digit(base)
    candidate = base + digit
    try:
        _siret.validate(candidate)
    except ValidationError as exc:  # pragma: no cover - luhn.calc_check_digit makes it valid
        raise ValueError(candidate) from exc
    return candidate

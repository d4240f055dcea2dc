"""
Personal data: normalisation and blind indexes.

Personal fields are marked in domain classes with
``attrs.field(metadata={"pii": True})``; ``"blind_index": True`` makes one
searchable by exact value, and ``"pii_kind"`` (``"text"``, ``"phone"``,
``"email"``) picks its normalisation. A blind index is an HMAC-SHA256, under
the keyring's index key, of the normalised value, so the same person matches
in every backend and every aggregate without the value being stored in clear:

* text: NFKC, case-folded, runs of white space collapsed, trimmed;
* email: as text;
* phone: E.164 through ``phonenumbers`` (default region CN); unparseable
  numbers fall back to their digits (or, with none, to the text form).

Example:
    >>> from eshop_core.personal_data import normalise, PiiKind
    >>> normalise("  ＬＩ   Ming ", PiiKind.TEXT)
    'li ming'
    >>> normalise("138 0013 8000", PiiKind.PHONE)
    '+8613800138000'
    >>> normalise("+86 138-0013-8000", PiiKind.PHONE)
    '+8613800138000'
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

import attrs
import phonenumbers

from eshop_core.domain import personal_fields

__all__ = ["PiiKind", "blind_index", "blind_index_values", "kind_of", "normalise"]

DEFAULT_PHONE_REGION: Final = "CN"
_SPACES = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s().-]+")
_CN_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})")
"""A mainland mobile number (11 digits from 13x to 19x), with or without the +86 / 0086 prefix."""


class PiiKind(StrEnum):
    """How a personal field is normalised before indexing."""

    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"


def kind_of(field: attrs.Attribute[Any]) -> PiiKind:
    """Return the :class:`PiiKind` declared on a field (``metadata["pii_kind"]``, default text)."""
    return PiiKind(field.metadata.get("pii_kind", PiiKind.TEXT))


def _text(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def normalise(value: str, kind: PiiKind = PiiKind.TEXT, *, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return the canonical form of ``value`` for indexing and comparison."""
    if kind is PiiKind.PHONE:
        text = unicodedata.normalize("NFKC", value).strip()
        if region == "CN":
            # Fast path for the commonest case; agrees with phonenumbers (a property test checks).
            mobile = _CN_MOBILE.fullmatch(_PHONE_SEPARATORS.sub("", text))
            if mobile is not None:
                return f"+86{mobile.group(1)}"
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", text) or _text(text)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _text(value)


@functools.lru_cache(maxsize=16)
def _keyed(index_key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 already keyed with ``index_key``; copied per value (skips the key setup)."""
    return hmac.new(index_key, digestmod=hashlib.sha256)


def blind_index(index_key: bytes, value: str, kind: PiiKind = PiiKind.TEXT) -> str:
    """Return the hex HMAC-SHA256 blind index of ``value`` (normalised as ``kind``)."""
    mac = _keyed(index_key).copy()
    mac.update(f"{kind.value}:{normalise(value, kind)}".encode())
    return mac.hexdigest()


_INDEXED: dict[type[Any], tuple[tuple[str, PiiKind], ...]] = {}


def _indexed_fields(cls: type[Any]) -> tuple[tuple[str, PiiKind], ...]:
    found = _INDEXED.get(cls)
    if found is None:
        found = _INDEXED[cls] = tuple(
            (f.name, kind_of(f)) for f in personal_fields(cls) if f.metadata.get("blind_index", False)
        )
    return found


def blind_index_values(index_key: bytes, aggregate: object) -> Mapping[str, str | None]:
    """Return the blind index of every ``blind_index`` field of ``aggregate`` (``None`` for empty values)."""
    out: dict[str, str | None] = {}
    for name, kind in _indexed_fields(type(aggregate)):
        value = getattr(aggregate, name)
        out[name] = None if value is None else blind_index(index_key, str(value), kind)
    return out

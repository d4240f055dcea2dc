"""
The named port behind erasure and key maintenance: :class:`PersonalDataStore`.

Personal fields are a domain fact (``metadata={"pii": True}``); how they are
stored is the backend's business. This port holds the acts that must see every
stored aggregate at once:

* :meth:`PersonalDataStore.erase_subject` overwrites every personal field of
  every aggregate whose blind-indexed fields match a data subject (PIPL/GDPR
  erasure) and bumps each one's version;
* :meth:`PersonalDataStore.reencrypt` moves encrypted values to the keyring's
  active key after a rotation, one batch per unit of work;
* :meth:`PersonalDataStore.key_usage` counts the encrypted values per key, so
  an operator knows when an old key may be dropped;
* :meth:`PersonalDataStore.reindex` recomputes blind indexes under a new
  index key — the index key never changes any other way.

Services reach it as ``uow.port(PersonalDataStore)``; integrators use
``shop.personal_data`` (:class:`~eshop_core.services.personal_data.PersonalDataService`).

Example:
    >>> from eshop_core import Shop, Actor, Role
    >>> from eshop_core.personal_data import PiiKind
    >>> from eshop_core.storage.personal_ports import PersonalDataStore
    >>> from eshop_core.testing import Widget
    >>> shop = Shop.open("memory://")
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> w = Widget.create(name="Blue", owner_email="li@example.com", by=li, at=shop.clock.now())
    >>> with shop.unit_of_work(li) as uow:
    ...     uow.repository(Widget).add(w)
    ...     uow.commit()
    >>> with shop.unit_of_work(li) as uow:
    ...     [(e.aggregate_type, e.fields) for e in
    ...      uow.port(PersonalDataStore).erase_subject({PiiKind.EMAIL: "LI@example.com"})]
    [('Widget', ('owner_email',))]
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Final, Protocol, runtime_checkable

import attrs

from eshop_core.personal_data import PiiKind

__all__ = ["ERASED_MARKER", "ErasedAggregate", "KeyUsage", "PersonalDataStore", "ReindexBatch"]

ERASED_MARKER: Final = "[erased]"
"""What an erased personal field holds afterwards (stored encrypted, like any value)."""


@attrs.frozen(kw_only=True)
class ErasedAggregate:
    """
    One aggregate whose personal fields were erased.

    Attributes:
        aggregate_type: The aggregate's type name (``"Widget"``).
        aggregate_id: Its id.
        version: Its version after the erasure (one more than before).
        fields: The personal fields overwritten (those that held a value).
    """

    aggregate_type: str
    aggregate_id: uuid.UUID
    version: int
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class KeyUsage:
    """
    How many stored personal values each data key encrypts.

    Attributes:
        by_key: Values per key id of the keyring (keys in use only).
        unreadable: Values this keyring cannot decrypt (unknown key id or format).
    """

    by_key: Mapping[str, int] = attrs.field(factory=dict)
    unreadable: int = 0

    @property
    def total(self) -> int:
        """Every encrypted value counted."""
        return sum(self.by_key.values()) + self.unreadable


@attrs.frozen(kw_only=True)
class ReindexBatch:
    """
    The outcome of one :meth:`PersonalDataStore.reindex` call.

    Attributes:
        rows: Rows whose blind indexes were recomputed.
        next_cursor: Pass it to the next call; ``None`` when every row is done.
    """

    rows: int
    next_cursor: str | None


@runtime_checkable
class PersonalDataStore(Protocol):
    """
    Named port: acts on the personal data of every stored aggregate.

    Implemented by the memory backend (no ciphertext: re-encryption and
    re-indexing are no-ops there) and by the SQL backend (every aggregate
    with a registered mapping, root and child tables).
    """

    def erase_subject(self, subject: Mapping[PiiKind, str]) -> list[ErasedAggregate]:
        """
        Erase one data subject: overwrite every personal field of each matching aggregate.

        An aggregate matches when one of its blind-indexed personal fields of
        a kind in ``subject`` (``email`` fields for the e-mail, ``phone`` for
        the phone, ``text`` for the name) equals that identifier after
        normalisation. Each matching aggregate's personal fields that hold a
        value become :data:`ERASED_MARKER`, its blind indexes become empty (it
        is never found by them again), and its version is bumped, so a copy
        loaded before the erasure can no longer be saved
        (:class:`~eshop_core.errors.ConcurrencyError`).

        Args:
            subject: The subject's identifiers by kind (plain values; the
                backend compares their blind indexes).

        Returns:
            The erased aggregates, by type then id.
        """
        ...

    def reencrypt(self, *, limit: int) -> int:
        """
        Re-encrypt up to ``limit`` stored rows whose personal values are not under the active key.

        Values are decrypted with whichever key wrote them and encrypted again
        with the active one; versions do not change (the values do not). Call
        it in successive units of work until it returns 0.

        Raises:
            KeyringError: A value cannot be decrypted with this keyring.
        """
        ...

    def key_usage(self) -> KeyUsage:
        """Count the stored encrypted values per data key."""
        ...

    def reindex(self, index_key: bytes, *, limit: int, cursor: str | None = None) -> ReindexBatch:
        """
        Recompute the blind indexes of up to ``limit`` rows under ``index_key``.

        Blind indexes are computed from the decrypted values. Run it in
        successive units of work, passing each batch's ``next_cursor``, until
        the cursor is ``None``; then open the shop with a keyring carrying the
        new index key. Searches by personal field do not match while it runs.

        Raises:
            KeyringError: A value cannot be decrypted, or ``index_key`` is not 32 bytes.
        """
        ...

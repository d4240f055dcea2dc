"""
``shop.personal_data``: erasure of a data subject (PIPL/GDPR) and key maintenance.

:meth:`PersonalDataService.erase` finds every stored aggregate whose
blind-indexed personal fields match a person's e-mail, phone or name and
overwrites all of its personal fields with :data:`ERASED_MARKER`; each erased
aggregate leaves one ``PersonalDataErased`` event — in the outbox and the
audit log, with the reason and the field names, never the data. The other
methods move encrypted values to a new key after a rotation and recompute
blind indexes under a new index key (see :doc:`/concepts/personal-data`).

Example:
    >>> from eshop_core import Shop, Actor, Role
    >>> from eshop_core.testing import Widget
    >>> shop = Shop.open("memory://")
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> with shop.unit_of_work(li) as uow:
    ...     uow.repository(Widget).add(Widget.create(
    ...         name="Blue", owner_email="wang.fang@example.com", by=li, at=shop.clock.now()))
    ...     uow.commit()
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> report = shop.personal_data.erase(boss, email="Wang.Fang@example.com", reason="ticket 4711")
    >>> report.count
    1
    >>> with shop.unit_of_work(li) as uow:
    ...     uow.repository(Widget).get(report.aggregate_ids[0]).owner_email
    '[erased]'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.errors import InvalidInputError, KeyringError
from eshop_core.events import EventEnvelope
from eshop_core.keyring import Keyring
from eshop_core.personal_data import PiiKind, normalise
from eshop_core.storage.personal_ports import (
    ErasedAggregate,
    KeyUsage,
    PersonalDataStore,
)
from eshop_core.storage.unit_of_work import check_limit

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = [
    "ERASED_EVENT",
    "ErasureReport",
    "PersonalDataService",
    "ReencryptReport",
    "ReindexReport",
]

ERASED_EVENT: Final = "PersonalDataErased"
"""The event type recorded for each erased aggregate."""

MAX_REASON_LENGTH: Final = 500
_NON_DIGITS: Final = re.compile(r"\D")


@attrs.frozen
class ErasureReport:
    """
    What :meth:`PersonalDataService.erase` erased.

    Attributes:
        erased: One entry per erased aggregate.
    """

    erased: tuple[ErasedAggregate, ...]

    @property
    def count(self) -> int:
        """How many aggregates were erased."""
        return len(self.erased)

    @property
    def aggregate_ids(self) -> tuple[uuid.UUID, ...]:
        """The erased aggregates' ids."""
        return tuple(e.aggregate_id for e in self.erased)


@attrs.frozen
class ReencryptReport:
    """
    What :meth:`PersonalDataService.reencrypt` did.

    Attributes:
        rows: Rows whose personal values were re-encrypted under the active key.
        batches: Units of work used (one per batch).
        active_key_id: The key everything is now encrypted with.
        usage: Encrypted values per key afterwards.
    """

    rows: int
    batches: int
    active_key_id: str
    usage: KeyUsage


@attrs.frozen
class ReindexReport:
    """
    What :meth:`PersonalDataService.reindex` did.

    Attributes:
        rows: Rows whose blind indexes were recomputed.
        batches: Units of work used (one per batch).
    """

    rows: int
    batches: int


def _identifier(field: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "must be a non-empty string when given")
    return value


def _check_reason(reason: object, subject: Mapping[PiiKind, str]) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInputError("reason", "say why the data is erased (e.g. the request's ticket number)")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError("reason", f"must be at most {MAX_REASON_LENGTH} characters")
    text = normalise(reason)
    digits = _NON_DIGITS.sub("", reason)
    for kind, value in subject.items():
        leaked = normalise(value) in text
        if kind is PiiKind.PHONE:
            number = _NON_DIGITS.sub("", value)
            leaked = leaked or (len(number) >= 5 and number[-8:] in digits)
        if leaked:
            raise InvalidInputError(
                "reason", "must not contain the personal data being erased (it is kept in the audit log)"
            )
    return reason.strip()


class PersonalDataService:
    """Erases data subjects and maintains the keys of personal data at rest."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def erase(
        self,
        actor: Actor,
        *,
        email: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        reason: str,
    ) -> ErasureReport:
        """
        Erase one data subject's personal data from every stored aggregate.

        Every aggregate with a blind-indexed personal field matching one of the
        identifiers (after normalisation: ``email`` against e-mail fields,
        ``phone`` against phone fields in E.164, ``name`` against text fields)
        has *all* its personal fields overwritten with :data:`ERASED_MARKER`
        (encrypted like any value), its blind indexes emptied and its version
        bumped. One ``PersonalDataErased`` event per aggregate — payload
        ``{"reason": ..., "fields": [...]}`` — goes to the outbox and the
        audit log in the same transaction.

        Args:
            actor: Who erases (needs ``personal_data.erase``).
            email: The subject's e-mail address.
            phone: The subject's phone number.
            name: The subject's name.
            reason: Why (the request's reference); it must not contain the
                personal data itself.

        Returns:
            The erased aggregates (none when nothing matched).

        Raises:
            PermissionDeniedError: The actor lacks ``personal_data.erase``.
            InvalidInputError: No identifier, an empty one, or a missing or
                unsuitable reason; nothing was changed.
            StorageError: The backend has no :class:`PersonalDataStore`.

        Example:
            >>> from eshop_core import Shop, Actor, Role
            >>> shop = Shop.open("memory://")
            >>> shop.personal_data.erase(Actor("a", roles={Role.ADMINISTRATOR}), reason="req 1")
            Traceback (most recent call last):
            ...
            eshop_core.errors.InvalidInputError: invalid input: email: ...; phone: ...; name: ...
        """
        authorize(actor, Permission.PERSONAL_DATA_ERASE)
        given = {
            PiiKind.EMAIL: _identifier("email", email),
            PiiKind.PHONE: _identifier("phone", phone),
            PiiKind.TEXT: _identifier("name", name),
        }
        subject = {kind: value for kind, value in given.items() if value is not None}
        if not subject:
            missing = "give at least one of email, phone or name"
            raise InvalidInputError(
                "email", missing, errors=[("email", missing), ("phone", missing), ("name", missing)]
            )
        why = _check_reason(reason, subject)
        with self._shop.unit_of_work(actor) as uow:
            erased = uow.port(PersonalDataStore).erase_subject(subject)
            now = uow.clock.now()
            for item in erased:
                uow.publish(
                    EventEnvelope(
                        type=ERASED_EVENT,
                        aggregate_type=item.aggregate_type,
                        aggregate_id=item.aggregate_id,
                        aggregate_version=item.version,
                        actor_id=actor.id,
                        occurred_at=now,
                        payload={"reason": why, "fields": list(item.fields)},
                    )
                )
            uow.commit()
        return ErasureReport(tuple(erased))

    def key_usage(self, actor: Actor) -> KeyUsage:
        """
        Count the stored encrypted personal values per data key.

        A key no value uses any more (after :meth:`reencrypt`) may be dropped
        from the keyring.

        Args:
            actor: Who asks (needs ``shop.administer``).
        """
        authorize(actor, Permission.SHOP_ADMINISTER)
        with self._shop.unit_of_work(actor) as uow:
            return uow.port(PersonalDataStore).key_usage()

    def reencrypt(self, actor: Actor, *, batch_size: int = 500) -> ReencryptReport:
        """
        Re-encrypt every stored personal value under the keyring's active key.

        Run it after opening the shop with a rotated keyring
        (:meth:`Keyring.rotated <eshop_core.Keyring.rotated>`). Each batch of
        ``batch_size`` rows is its own unit of work, so the database is never
        locked for long and an interrupted run simply resumes. Values keep
        their meaning, so aggregate versions do not change.

        Args:
            actor: Who runs it (needs ``shop.administer``).
            batch_size: Rows per unit of work, 1 to 1,000.

        Raises:
            KeyringError: A value cannot be decrypted with the shop's keyring.
        """
        authorize(actor, Permission.SHOP_ADMINISTER)
        check_limit(batch_size)
        rows = batches = 0
        while True:
            with self._shop.unit_of_work(actor) as uow:
                done = uow.port(PersonalDataStore).reencrypt(limit=batch_size)
                uow.commit()
            batches += 1
            rows += done
            if done == 0:
                break
        usage = self.key_usage(actor)
        return ReencryptReport(rows=rows, batches=batches, active_key_id=self._active_key_id(), usage=usage)

    def reindex(self, actor: Actor, new_keyring: Keyring, *, batch_size: int = 500) -> ReindexReport:
        """
        Recompute every blind index under ``new_keyring``'s index key.

        The index key never changes silently: a keyring with another index key
        makes every search by personal field miss. Changing it takes this
        explicit step; afterwards reopen the shop with ``new_keyring``. Stop
        other writers while it runs (they would write indexes under the old key).

        Args:
            actor: Who runs it (needs ``shop.administer``).
            new_keyring: The keyring to use from now on; its data keys must
                include every key the stored values use.
            batch_size: Rows per unit of work, 1 to 1,000.

        Raises:
            KeyringError: ``new_keyring`` lacks a data key still in use.
        """
        authorize(actor, Permission.SHOP_ADMINISTER)
        check_limit(batch_size)
        if not isinstance(new_keyring, Keyring):
            raise InvalidInputError("new_keyring", f"expected a Keyring, got {type(new_keyring).__name__}")
        missing = set(self.key_usage(actor).by_key) - set(new_keyring.data_keys)
        if missing:
            raise KeyringError(f"the new keyring lacks data keys still in use: {', '.join(sorted(missing))}")
        rows = batches = 0
        cursor: str | None = None
        while True:
            with self._shop.unit_of_work(actor) as uow:
                batch = uow.port(PersonalDataStore).reindex(
                    new_keyring.index_key, limit=batch_size, cursor=cursor
                )
                uow.commit()
            batches += 1
            rows += batch.rows
            cursor = batch.next_cursor
            if cursor is None:
                return ReindexReport(rows=rows, batches=batches)

    def _active_key_id(self) -> str:
        keyring = getattr(self._shop.backend, "keyring", None)
        return keyring.active_key_id if isinstance(keyring, Keyring) else ""

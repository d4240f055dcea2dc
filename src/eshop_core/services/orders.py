"""
``shop.orders``: channel orders in, audited, confirmed on time and allocated (ORD-01..04, ORD-07).

**Ingestion (ORD-01).** Channels ingest as system actors
(``Actor.system("channel:tmall")``, permission ``order.ingest``) through
:meth:`OrdersService.ingest` or, a batch in one unit of work,
:meth:`OrdersService.ingest_many`. Orders are keyed on (channel, external id);
the channel's ``modified_at`` is the revision: an equal one changes nothing,
an older one is ignored (and recorded on the order), a newer one is applied.
Webhook and poll delivering the same order make one order.

**Audit (ORD-02).** A paid order goes through every audit rule (built-in
ones plus those plug-ins register through ``eshop_register_audit_rules``).
Any finding holds it for a person (``order.hold``), who releases it with a
note and confirms it — or cancels it.

**Confirmation (ORD-03).** Each order gets its confirmation deadline from the
policy in force when it was placed (wall clock or business calendar, as the
policy says). With ``orders.auto_confirm`` an order that passes the audit is
confirmed at once; otherwise, and for held orders, a timer flags it overdue
when the deadline passes (``shop.run_due``) and a late confirmation is
recorded as late.

**Allocation (ORD-04).** Confirming reserves stock across warehouses: a
plug-in may choose through ``eshop_choose_warehouse``; by default one
warehouse that has everything, by priority, else each line from the
warehouses in priority order. When stock is short the order becomes
``short`` (the ``OrderShort`` event is the customer notice), purchasing gets
a replenishment suggestion, and the customer chooses to wait
(:meth:`OrdersService.choose_backorder`) or take a partial shipment
(:meth:`OrdersService.choose_partial`); :meth:`OrdersService.retry_allocation`
fills them when stock arrives.

**Reminders (ORD-07).** An unpaid order gets a timer at the policy's
``orders.payment_reminder``; ``shop.run_due`` records a ``PaymentReminderSent``
event, which notifier plug-ins deliver.

Example:
    >>> from eshop_core import Actor, Shop
    >>> shop = Shop.open("memory://")
    >>> shop.orders.ingest(Actor("li.ming", roles={"operations"}), {})
    Traceback (most recent call last):
    ...
    eshop_core.errors.PermissionDeniedError: li.ming lacks permission order.ingest
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, TextIO

import attrs

from eshop_core.access import Actor, Permission, authorize, permissions_of
from eshop_core.clock import ensure_aware
from eshop_core.domain.inventory import StockLevel
from eshop_core.domain.order_audit import AuditContext, AuditRule
from eshop_core.domain.orders import (
    PRE_SHIPMENT,
    AuditFinding,
    Order,
    OrderLine,
    OrderState,
    OrderStep,
)
from eshop_core.domain.policies import Deadline, PolicySet, PolicyVersion
from eshop_core.errors import (
    DuplicateKeyError,
    InsufficientStockError,
    InvalidInputError,
    NotFoundError,
    PluginError,
)
from eshop_core.ids import parse_id
from eshop_core.money import Money
from eshop_core.personal_data import PiiKind, blind_index
from eshop_core.schemas.orders import ChannelOrder
from eshop_core.services.inventory import all_pages, check_state
from eshop_core.storage.inventory_ports import StockLedger
from eshop_core.storage.order_ports import Lookalike, OrderBook, OrderTotals
from eshop_core.storage.ports import Page, TimerStore, UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop
    from eshop_core.timers import TimerContext

__all__ = [
    "CONFIRMATION_TIMER",
    "EXPORT_COLUMNS",
    "ORDERS_ACTOR",
    "PAYMENT_REMINDER_TIMER",
    "IngestOutcome",
    "IngestResult",
    "OrderView",
    "OrdersService",
    "default_allocation",
]

PAYMENT_REMINDER_TIMER: Final = "orders.payment_reminder"
"""The timer kind that reminds an unpaid buyer (ORD-07)."""

CONFIRMATION_TIMER: Final = "orders.confirmation_due"
"""The timer kind that flags an order still unconfirmed at its deadline (ORD-03)."""

ORDERS_ACTOR: Final = Actor.system("orders")
"""The system actor that confirms and allocates orders automatically."""

_MAX_BATCH: Final = 5000
_KEY_RETRIES: Final = 10


class IngestOutcome(StrEnum):
    """What ingesting one channel order did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"


@attrs.frozen(kw_only=True)
class IngestResult:
    """
    The result of ingesting one channel order.

    Attributes:
        id: The order's id.
        channel: Its channel.
        external_id: Its channel id.
        outcome: Created, updated, unchanged (same revision) or stale (older revision, ignored).
        state: Its state afterwards.
        findings: The audit's findings if it is held.
    """

    id: uuid.UUID
    channel: str
    external_id: str
    outcome: IngestOutcome
    state: OrderState
    findings: tuple[AuditFinding, ...] = ()


@attrs.frozen(kw_only=True)
class OrderView:
    """
    An immutable snapshot of an :class:`~eshop_core.domain.orders.Order`.

    Personal fields (buyer, consignee name, phone and address, buyer note) are
    masked — ``"***"`` — unless the reader holds ``personal_data.read``.
    Attributes otherwise mirror the order's.
    """

    id: uuid.UUID
    version: int
    channel: str
    external_id: str
    revision: datetime
    state: OrderState
    placed_at: datetime
    paid_at: datetime | None
    buyer: str | None
    consignee_name: str
    consignee_phone: str
    province: str
    city: str
    district: str
    address: str
    postcode: str | None
    lines: tuple[OrderLine, ...]
    shipping_fee: Money
    discount: Money
    total: Money
    payment_method: str | None
    payment_reference: str | None
    buyer_note: str | None
    packaging: tuple[str, ...]
    findings: tuple[AuditFinding, ...]
    policy_version: int | None
    confirmation_due_at: datetime | None
    confirmed_at: datetime | None
    confirmed_by: str | None
    confirmed_late: bool | None
    overdue: bool
    reminders_sent: int
    cancel_reason: str | None
    steps: tuple[OrderStep, ...]

    @classmethod
    def of(cls, order: Order, *, personal: bool = True) -> OrderView:
        """Return the snapshot of ``order``, personal fields masked unless ``personal``."""

        def mask(value: str | None) -> str | None:
            return value if personal or value is None else "***"

        return cls(
            id=order.id,
            version=order.version,
            channel=order.channel,
            external_id=order.external_id,
            revision=order.revision,
            state=order.state,
            placed_at=order.placed_at,
            paid_at=order.paid_at,
            buyer=mask(order.buyer),
            consignee_name=mask(order.consignee_name) or "",
            consignee_phone=mask(order.consignee_phone) or "",
            province=order.province,
            city=order.city,
            district=order.district,
            address=mask(order.address) or "",
            postcode=order.postcode,
            lines=tuple(order.lines),
            shipping_fee=order.shipping_fee,
            discount=order.discount,
            total=order.total,
            payment_method=order.payment_method,
            payment_reference=order.payment_reference,
            buyer_note=mask(order.buyer_note),
            packaging=order.packaging,
            findings=tuple(order.findings),
            policy_version=order.policy_version,
            confirmation_due_at=order.confirmation_due_at,
            confirmed_at=order.confirmed_at,
            confirmed_by=order.confirmed_by,
            confirmed_late=order.confirmed_late,
            overdue=order.overdue,
            reminders_sent=order.reminders_sent,
            cancel_reason=order.cancel_reason,
            steps=tuple(order.steps),
        )

    def line(self, sku: str) -> OrderLine:
        """Return the line of ``sku`` (``KeyError`` if absent)."""
        for line in self.lines:
            if line.sku == sku:
                return line
        raise KeyError(sku)


Allocation = dict[str, list[tuple[str, int]]]
"""Units to reserve per SKU: ``{sku: [(warehouse, units), ...]}``."""


def default_allocation(
    missing: Mapping[str, int], candidates: Mapping[str, Sequence[StockLevel]]
) -> Allocation:
    """
    The default warehouse choice (ORD-04).

    ``candidates`` lists each SKU's levels in warehouse priority order. One
    warehouse that can fill every line wins (the first by priority); otherwise
    each line takes from the warehouses in priority order until it is filled
    or stock runs out.

    Example:
        >>> from eshop_core.domain.inventory import StockLevel
        >>> levels = {"A": [StockLevel(sku="A", warehouse="SH", on_hand=1),
        ...                 StockLevel(sku="A", warehouse="BJ", on_hand=5)],
        ...           "B": [StockLevel(sku="B", warehouse="BJ", on_hand=2)]}
        >>> default_allocation({"A": 2, "B": 1}, levels)
        {'A': [('BJ', 2)], 'B': [('BJ', 1)]}
        >>> default_allocation({"A": 3, "B": 3}, levels)
        {'A': [('SH', 1), ('BJ', 2)], 'B': [('BJ', 2)]}
    """
    order: list[str] = []
    for levels in candidates.values():
        for level in levels:
            if level.warehouse not in order:
                order.append(level.warehouse)
    available = {(lv.sku, lv.warehouse): lv.available for levels in candidates.values() for lv in levels}
    for warehouse in order:
        if all(available.get((sku, warehouse), 0) >= units for sku, units in missing.items()):
            return {sku: [(warehouse, units)] for sku, units in missing.items()}
    plan: Allocation = {}
    for sku, units in missing.items():
        parts = []
        for level in candidates.get(sku, ()):
            if units == 0:
                break
            take = min(units, max(level.available, 0))
            if take:
                parts.append((level.warehouse, take))
                units -= take
        if parts:
            plan[sku] = parts
    return plan


def _due(shop: Shop, start: datetime, deadline: Deadline) -> datetime:
    if deadline.business_time:
        return shop.calendar.add(start, deadline.duration)
    return start + deadline.duration


def _average(count: int, total: Money) -> Money | None:
    if count == 0:
        return None
    exponent = Decimal(1).scaleb(-total.minor_digits)
    return Money.of((total.amount / count).quantize(exponent), total.currency)


@attrs.define
class _Batch:
    """
    What one unit of work knows while it ingests or allocates: kept current as it goes.

    Look-alikes by items key, order totals per currency, blind indexes
    computed, warehouse priorities, and the stock levels of the SKUs seen —
    updated from each reservation's result, so later orders of the batch
    choose warehouses on what is really left.
    """

    index_key: bytes
    window: timedelta = timedelta(0)
    by_items: dict[str, list[Lookalike]] = attrs.field(factory=dict)
    totals: dict[str, OrderTotals] = attrs.field(factory=dict)
    indexes: dict[tuple[str, str], str] = attrs.field(factory=dict)
    priorities: dict[str, int] | None = None
    levels: dict[str, dict[str, StockLevel]] = attrs.field(factory=dict)
    policies: PolicySet | None = None

    def index(self, value: str, kind: PiiKind = PiiKind.TEXT) -> str:
        """The blind index of ``value``, computed once per batch."""
        key = (kind.value, value)
        found = self.indexes.get(key)
        if found is None:
            found = self.indexes[key] = blind_index(self.index_key, value, kind)
        return found

    def add(self, lookalike: Lookalike) -> None:
        """Remember an order of the batch for the duplicate rule."""
        self.by_items.setdefault(lookalike.items_key, []).append(lookalike)


class OrdersService:
    """Order ingestion, audit, confirmation, allocation and follow-up; see the module documentation."""

    def __init__(self, shop: Shop, rules: Sequence[AuditRule] = ()) -> None:
        self._shop = shop
        self._rules = tuple(rules)
        self._chooser: Callable[..., Any] | None = None

    @property
    def audit_rules(self) -> tuple[str, ...]:
        """Names of the audit rules in force, in the order they run."""
        return tuple(rule.name for rule in self._rules)

    def set_audit_rules(self, rules: Iterable[AuditRule]) -> None:
        """Use ``rules`` (collected from plug-ins by :class:`~eshop_core.Shop`)."""
        checked = []
        for rule in rules:
            if not isinstance(rule, AuditRule):
                raise PluginError(f"eshop_register_audit_rules: {rule!r} is not an AuditRule")
            checked.append(rule)
        names = [r.name for r in checked]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise PluginError(f"audit rule {twice[0]!r} registered twice")
        self._rules = tuple(checked)

    def set_warehouse_chooser(self, chooser: Callable[..., Any] | None) -> None:
        """Use ``chooser(order=, missing=, candidates=)`` (the ``eshop_choose_warehouse`` hook)."""
        self._chooser = chooser

    # -- reading ---------------------------------------------------------------------------

    def _personal(self, actor: Actor) -> bool:
        return Permission.PERSONAL_DATA_READ in permissions_of(actor)

    def get(self, actor: Actor, order_id: uuid.UUID | str) -> OrderView:
        """
        Return order ``order_id`` (needs ``order.read``; personal data masked without ``personal_data.read``).

        Raises:
            NotFoundError: No such order.
        """
        authorize(actor, Permission.ORDER_READ)
        key = parse_id(order_id, field="order_id")
        with self._shop.unit_of_work(actor) as uow:
            order = uow.repository(Order).get(key)
        return OrderView.of(order, personal=self._personal(actor))

    def by_channel(self, actor: Actor, channel: str, external_id: str) -> OrderView:
        """
        Return the order with the channel's id (needs ``order.read``).

        Raises:
            NotFoundError: No such order.
        """
        authorize(actor, Permission.ORDER_READ)
        with self._shop.unit_of_work(actor) as uow:
            known = uow.port(OrderBook).known([(channel, external_id)])
            found = known.get((channel, external_id))
            if found is None:
                raise NotFoundError("Order", f"{channel}/{external_id}")
            order = uow.repository(Order).get(found.id)
        return OrderView.of(order, personal=self._personal(actor))

    def orders(
        self,
        actor: Actor,
        *,
        state: OrderState | str | None = None,
        channel: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[OrderView]:
        """Return orders (in one state, of one channel), a page at a time, in id order (``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        where: dict[str, object] = {}
        if state is not None:
            where["state"] = check_state(OrderState, state)
        if channel is not None:
            where["channel"] = channel
        with self._shop.unit_of_work(actor) as uow:
            page = uow.repository(Order).find(where=where, limit=limit, cursor=cursor)
        personal = self._personal(actor)
        return Page(tuple(OrderView.of(o, personal=personal) for o in page.items), page.next_cursor)

    def overdue(self, actor: Actor) -> tuple[OrderView, ...]:
        """Return orders flagged overdue and still unconfirmed (ORD-03), oldest first (``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        personal = self._personal(actor)
        with self._shop.unit_of_work(actor) as uow:
            found = [
                OrderView.of(o, personal=personal)
                for o in all_pages(uow, Order, {"overdue": True})
                if o.unconfirmed
            ]
        return tuple(sorted(found, key=lambda o: o.placed_at))

    def late_confirmations(self, actor: Actor) -> tuple[OrderView, ...]:
        """Return orders confirmed after their deadline (ORD-03), oldest first (needs ``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        personal = self._personal(actor)
        with self._shop.unit_of_work(actor) as uow:
            found = [
                OrderView.of(o, personal=personal) for o in all_pages(uow, Order, {"confirmed_late": True})
            ]
        return tuple(sorted(found, key=lambda o: o.placed_at))

    # -- ingestion ---------------------------------------------------------------------------

    def ingest(self, actor: Actor, channel_order: ChannelOrder | Mapping[str, Any]) -> IngestResult:
        """
        Ingest one channel order (ORD-01): create, update, or recognise it, then audit and confirm it.

        Raises:
            PermissionDeniedError: Missing ``order.ingest``.
            InvalidInputError: A bad channel order, naming the field; nothing is stored.
            NotFoundError: A SKU no catalog product has; nothing is stored.
        """
        authorize(actor, Permission.ORDER_INGEST)
        parsed = ChannelOrder.parse(channel_order)
        return self._ingest(actor, [parsed])[0]

    def ingest_many(
        self, actor: Actor, channel_orders: Iterable[ChannelOrder | Mapping[str, Any]]
    ) -> tuple[IngestResult, ...]:
        """
        Ingest a batch of channel orders in one unit of work, each with :meth:`ingest`'s guarantees.

        The batch is all or nothing: one invalid order (``orders.<i>.<field>``)
        stores none. The same key twice in a batch is one order, its revisions
        applied in the batch's order.

        Raises:
            PermissionDeniedError: Missing ``order.ingest``.
            InvalidInputError: An invalid order, naming ``orders.<i>.<field>``, or more than
                5000 orders.
        """
        authorize(actor, Permission.ORDER_INGEST)
        if isinstance(channel_orders, Mapping | str):
            raise InvalidInputError("orders", "give a list of channel orders")
        parsed = []
        for i, raw in enumerate(channel_orders):
            try:
                parsed.append(ChannelOrder.parse(raw))
            except InvalidInputError as error:
                raise InvalidInputError(f"orders.{i}.{error.field}", error.reason) from None
            if len(parsed) > _MAX_BATCH:
                raise InvalidInputError("orders", f"at most {_MAX_BATCH} orders per batch")
        if not parsed:
            return ()
        return self._ingest(actor, parsed, prefix="orders.")

    def _ingest(
        self, actor: Actor, batch: list[ChannelOrder], *, prefix: str = ""
    ) -> tuple[IngestResult, ...]:
        # Two processes may create the same channel order at once (webhook and poll): the
        # unique key lets one commit; the other's batch is retried and then finds the order.
        for attempt in range(_KEY_RETRIES):
            try:
                return self._ingest_once(actor, batch, prefix=prefix)
            except DuplicateKeyError:
                if attempt == _KEY_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _ingest_once(
        self, actor: Actor, batch: list[ChannelOrder], *, prefix: str = ""
    ) -> tuple[IngestResult, ...]:
        shop = self._shop
        now = shop.clock.now()
        fields = []
        for i, channel_order in enumerate(batch):
            try:
                fields.append(channel_order.to_fields())
            except InvalidInputError as error:
                where = f"{prefix}{i}." if prefix else ""
                raise InvalidInputError(f"{where}{error.field}", error.reason) from None
        results: list[IngestResult] = []
        with shop.unit_of_work(actor) as uow:
            for i, channel_order in enumerate(batch):
                for j, line in enumerate(channel_order.lines):
                    where = f"{prefix}{i}." if prefix else ""
                    shop.inventory.check_sku(uow, line.sku, field=f"{where}lines.{j}.sku")
            policy = shop.policies.version_in_force(uow, now)
            state = _Batch(index_key=uow.index_key, window=policy.rules.orders.duplicate_window)
            # Lock the stock every order of the batch may touch first, in a fixed order: batches
            # then never deadlock, and one waiting behind another that creates the same orders
            # sees them committed below instead of losing the race on their keys.
            self._prefetch(uow, state, {line.sku for c in batch for line in c.lines})
            book = uow.port(OrderBook)
            known = book.known([c.key for c in batch])
            orders = uow.repository(Order)
            held_skus = {
                line.sku
                for c in batch
                if c.key in known and c.status == "cancelled" and known[c.key].state in PRE_SHIPMENT
                for line in orders.get(known[c.key].id).lines
                if line.allocations
            }
            self._prefetch(uow, state, held_skus)  # what a cancellation releases (if its items changed)
            # every order this batch may audit: new ones, and known unpaid ones now paid
            fresh = [
                (c, f)
                for c, f in zip(batch, fields, strict=True)
                if c.key not in known
                or (c.status == "paid" and known[c.key].state is OrderState.PENDING_PAYMENT)
            ]
            state.policies = shop.policies.policy_set(uow)
            phones = sorted({state.index(c.consignee.phone, PiiKind.PHONE) for c, _f in fresh})
            buyers = sorted({state.index(c.buyer) for c, _f in fresh if c.buyer})
            since = min((c.placed_at for c, _f in fresh), default=now) - state.window
            if fresh:
                for lookalike in book.lookalikes(
                    phone_indexes=phones,
                    buyer_indexes=buyers,
                    items_keys=sorted({_items(f) for _c, f in fresh}),
                    since=since,
                ):
                    state.add(lookalike)
            state.totals = {
                currency: book.totals(buyer_indexes=buyers, currency=currency)
                for currency in sorted({c.currency for c, _f in fresh})
            }
            seen: dict[tuple[str, str], Order] = {}
            touched: dict[uuid.UUID, Order] = {}
            for channel_order, order_fields in zip(batch, fields, strict=True):
                key = channel_order.key
                order = seen.get(key)
                if order is None and key in known:
                    order = orders.get(known[key].id)
                if order is None:
                    order = self._create(uow, channel_order, order_fields, policy, state, now)
                    outcome = IngestOutcome.CREATED
                else:
                    outcome = self._revise(uow, order, channel_order, policy, state, now)
                seen[key] = order
                touched[order.id] = order
                results.append(
                    IngestResult(
                        id=order.id,
                        channel=order.channel,
                        external_id=order.external_id,
                        outcome=outcome,
                        state=order.state,
                        findings=tuple(order.findings),
                    )
                )
            for order in touched.values():
                if order._stored_version is None:
                    orders.add(order)
                elif order.version != order._stored_version:
                    orders.save(order)
            book.note(list(touched.values()))
            uow.commit()
        return tuple(results)

    def _create(
        self,
        uow: UnitOfWork,
        channel_order: ChannelOrder,
        fields: dict[str, Any],
        policy: PolicyVersion,
        batch: _Batch,
        now: datetime,
    ) -> Order:
        actor = uow.actor
        rules = policy.rules
        order = Order.receive(fields=fields, paid=False, by=actor, at=now)
        if channel_order.status == "cancelled":
            order.cancel(reason="cancelled on the channel", by=actor, at=now)
        elif channel_order.status == "paid":
            assert channel_order.payment is not None  # the schema requires it
            self._pay(uow, order, channel_order.payment.paid_at, policy, batch, now)
        else:
            due = _due(self._shop, channel_order.placed_at, rules.orders.payment_reminder)
            uow.port(TimerStore).schedule(kind=PAYMENT_REMINDER_TIMER, aggregate_id=order.id, due_at=due)
        batch.add(
            Lookalike(
                id=order.id,
                channel=order.channel,
                external_id=order.external_id,
                items_key=order.items_key,
                phone_index=batch.index(order.consignee_phone, PiiKind.PHONE),
                buyer_index=None if order.buyer is None else batch.index(order.buyer),
                placed_at=order.placed_at,
                state=order.state,
            )
        )
        if order.state is not OrderState.CANCELLED:
            _count(batch, order)
        return order

    def _revise(
        self,
        uow: UnitOfWork,
        order: Order,
        channel_order: ChannelOrder,
        policy: PolicyVersion,
        batch: _Batch,
        now: datetime,
    ) -> IngestOutcome:
        actor = uow.actor
        revision = channel_order.modified_at
        if revision == order.revision:
            return IngestOutcome.UNCHANGED
        if revision < order.revision:
            order.ignore_revision(revision=revision, by=actor, at=now)
            return IngestOutcome.STALE
        order.apply_revision(revision=revision, changes=channel_order.revision_changes(), by=actor, at=now)
        if channel_order.status == "cancelled" and order.state in PRE_SHIPMENT:
            self._release(uow, order, order.cancel(reason="cancelled on the channel", by=actor, at=now))
            uow.port(TimerStore).cancel(aggregate_id=order.id)
        elif channel_order.status == "paid" and order.state is OrderState.PENDING_PAYMENT:
            assert channel_order.payment is not None
            uow.port(TimerStore).cancel(aggregate_id=order.id, kind=PAYMENT_REMINDER_TIMER)
            self._pay(uow, order, channel_order.payment.paid_at, policy, batch, now)
        return IngestOutcome.UPDATED

    def _pay(
        self,
        uow: UnitOfWork,
        order: Order,
        paid_at: datetime,
        policy: PolicyVersion,
        batch: _Batch,
        now: datetime,
    ) -> None:
        """
        Record the payment, set the confirmation deadline, and audit the order.

        The deadline comes from the policy in force when the order was placed;
        it runs from the payment when that came later (an order cannot be
        confirmed before it is paid).
        """
        placed = batch.policies.in_force(order.placed_at) if batch.policies is not None else policy
        order.confirmation_due_at = _due(
            self._shop, max(order.placed_at, paid_at), placed.rules.deadlines.order_confirmation
        )
        order.pay(paid_at=paid_at, by=uow.actor, at=now)
        self._audit(uow, order, policy, batch, now)

    # -- audit, confirmation, allocation --------------------------------------------------------

    def _audit(
        self, uow: UnitOfWork, order: Order, policy: PolicyVersion, batch: _Batch, now: datetime
    ) -> None:
        phone = batch.index(order.consignee_phone, PiiKind.PHONE)
        buyer = None if order.buyer is None else batch.index(order.buyer)
        duplicates = [
            (x.channel, x.external_id)
            for x in batch.by_items.get(order.items_key, ())
            if x.id != order.id
            and x.state is not OrderState.CANCELLED
            and (x.phone_index == phone or (buyer is not None and x.buyer_index == buyer))
            and abs(x.placed_at - order.placed_at) <= batch.window
        ]
        totals = batch.totals.get(order.total.currency)
        average = None
        if totals is not None:
            if buyer is not None and buyer in totals.per_buyer:
                average = _average(*totals.per_buyer[buyer])
            if average is None:
                average = _average(*totals.shop)
        context = AuditContext(
            rules=policy.rules, policy_version=policy.number, average=average, duplicates=duplicates
        )
        findings: list[AuditFinding] = []
        for rule in self._rules:
            findings.extend(rule.check(order, context))
        if findings:
            order.hold(findings, by=ORDERS_ACTOR, at=now, policy_version=policy.number)
            self._schedule_confirmation(uow, order)
            return
        order.pass_audit(by=ORDERS_ACTOR, at=now, policy_version=policy.number)
        if policy.rules.orders.auto_confirm:
            order.confirm(by=ORDERS_ACTOR, at=now, policy_version=policy.number)
            self._allocate(uow, order, ORDERS_ACTOR, now, policy, batch)
        else:
            self._schedule_confirmation(uow, order)

    def _schedule_confirmation(self, uow: UnitOfWork, order: Order) -> None:
        if order.confirmation_due_at is not None:
            uow.port(TimerStore).schedule(
                kind=CONFIRMATION_TIMER, aggregate_id=order.id, due_at=order.confirmation_due_at
            )

    def _priorities(self, uow: UnitOfWork, batch: _Batch | None = None) -> dict[str, int]:
        if batch is not None and batch.priorities is not None:
            return batch.priorities
        from eshop_core.domain.inventory import Warehouse

        priorities = {w.code: w.priority for w in all_pages(uow, Warehouse)}
        if batch is not None:
            batch.priorities = priorities
        return priorities

    def _prefetch(self, uow: UnitOfWork, batch: _Batch, skus: Iterable[str]) -> None:
        """Read and lock (in a fixed order) the levels of ``skus`` the batch has not seen, in one query."""
        wanted = [sku for sku in skus if sku not in batch.levels]
        if wanted:
            for sku, levels in uow.port(StockLedger).levels_of(wanted, lock=True).items():
                batch.levels[sku] = {level.warehouse: level for level in levels}

    def _candidates(self, uow: UnitOfWork, skus: Iterable[str], batch: _Batch) -> dict[str, list[StockLevel]]:
        priorities = self._priorities(uow, batch)
        wanted = list(skus)
        self._prefetch(uow, batch, wanted)
        return {
            sku: sorted(
                (lv for lv in batch.levels[sku].values() if lv.warehouse in priorities),
                key=lambda lv: (priorities[lv.warehouse], lv.warehouse),
            )
            for sku in wanted
        }

    def _allocate(
        self,
        uow: UnitOfWork,
        order: Order,
        actor: Actor,
        now: datetime,
        policy: PolicyVersion,
        batch: _Batch | None = None,
    ) -> None:
        missing = order.shortage
        if not missing:
            order.allocate({}, by=actor, at=now)
            return
        if batch is None:
            batch = _Batch(index_key=uow.index_key)
        candidates = self._candidates(uow, missing, batch)
        plan: Mapping[str, Sequence[tuple[str, int]]] | None = None
        if self._chooser is not None:
            plan = self._chooser(order=order, missing=dict(missing), candidates=candidates)
        if plan is None:
            plan = default_allocation(missing, candidates)
        reserved = self._reserve(uow, order, plan, missing, policy, batch)
        order.allocate(reserved, by=actor, at=now)
        if order.state is OrderState.SHORT:
            priorities = self._priorities(uow, batch)
            first = min(priorities, key=lambda w: (priorities[w], w)) if priorities else None
            if first is not None:
                inventory = self._shop.inventory
                for sku, units in order.shortage.items():
                    inventory.request_replenishment(uow, sku, first, units, at=now, policy=policy)

    def _reserve(
        self,
        uow: UnitOfWork,
        order: Order,
        plan: Mapping[str, Sequence[tuple[str, int]]],
        missing: Mapping[str, int],
        policy: PolicyVersion,
        batch: _Batch,
    ) -> Allocation:
        """Reserve the parts of ``plan`` atomically; return what was reserved (others may have taken some)."""
        reserved: Allocation = {}
        inventory = self._shop.inventory
        reference = f"order:{order.id}"
        for sku, parts in plan.items():
            if sku not in missing:
                raise PluginError(f"eshop_choose_warehouse: {sku} is not missing on {order.subject}")
            left = missing[sku]
            for warehouse, units in parts:
                units = min(units, left)
                if units <= 0:
                    continue
                try:
                    change = inventory.reserve_in(
                        uow, sku, warehouse, units, reference=reference, policy=policy
                    )
                except InsufficientStockError as error:  # taken by another unit of work meanwhile
                    units = min(units, error.available)
                    if units <= 0:
                        continue
                    change = inventory.reserve_in(
                        uow, sku, warehouse, units, reference=reference, policy=policy
                    )
                batch.levels.setdefault(sku, {})[warehouse] = change.after
                reserved.setdefault(sku, []).append((warehouse, units))
                left -= units
        return reserved

    def _release(
        self, uow: UnitOfWork, order: Order, released: Mapping[str, Sequence[tuple[str, int]]]
    ) -> None:
        inventory = self._shop.inventory
        for sku, parts in released.items():
            for warehouse, units in parts:
                inventory.release_in(uow, sku, warehouse, units, reference=f"order:{order.id}")

    # -- people's acts -----------------------------------------------------------------------

    def _act(
        self,
        actor: Actor,
        order_id: uuid.UUID | str,
        permission: Permission,
        act: Callable[[UnitOfWork, Order, datetime], None],
    ) -> OrderView:
        authorize(actor, permission)
        key = parse_id(order_id, field="order_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            order = uow.repository(Order).get(key)
            act(uow, order, now)
            uow.repository(Order).save(order)
            uow.port(OrderBook).note([order])
            uow.commit()
        return OrderView.of(order, personal=self._personal(actor))

    def hold(self, actor: Actor, order_id: uuid.UUID | str, *, reason: str) -> OrderView:
        """
        Hold an order for a person before it is confirmed (needs ``order.hold``).

        Raises:
            InvalidTransitionError: It is not paid, audited or held.
            InvalidInputError: No reason.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInputError("reason", "say why the order is held")

        def act(uow: UnitOfWork, order: Order, now: datetime) -> None:
            order.hold(
                [AuditFinding(rule="manual", detail=reason.strip())], by=actor, at=now, policy_version=None
            )

        return self._act(actor, order_id, Permission.ORDER_HOLD, act)

    def release(self, actor: Actor, order_id: uuid.UUID | str, *, note: str) -> OrderView:
        """
        Release a held order once its findings are resolved; it then waits for confirmation (``order.hold``).

        Raises:
            InvalidTransitionError: It is not held.
            InvalidInputError: No note.
        """

        def act(uow: UnitOfWork, order: Order, now: datetime) -> None:
            order.release(note=note, by=actor, at=now)

        return self._act(actor, order_id, Permission.ORDER_HOLD, act)

    def confirm(self, actor: Actor, order_id: uuid.UUID | str) -> OrderView:
        """
        Confirm an audited order and allocate its stock (ORD-03, ORD-04; needs ``order.confirm``).

        A confirmation after the deadline is recorded as late.

        Raises:
            InvalidTransitionError: It is not audited (unpaid, held, confirmed already...).
        """

        def act(uow: UnitOfWork, order: Order, now: datetime) -> None:
            policy = self._shop.policies.version_in_force(uow, now)
            order.confirm(by=actor, at=now, policy_version=policy.number)
            uow.port(TimerStore).cancel(aggregate_id=order.id, kind=CONFIRMATION_TIMER)
            self._allocate(uow, order, actor, now, policy)

        return self._act(actor, order_id, Permission.ORDER_CONFIRM, act)

    def choose_backorder(self, actor: Actor, order_id: uuid.UUID | str) -> OrderView:
        """
        Record that the customer waits for the whole short order (ORD-04; needs ``order.edit``).

        Raises:
            InvalidTransitionError: It is not short.
        """
        return self._act(
            actor,
            order_id,
            Permission.ORDER_EDIT,
            lambda uow, order, now: order.choose_backorder(by=actor, at=now),
        )

    def choose_partial(self, actor: Actor, order_id: uuid.UUID | str) -> OrderView:
        """
        Record that the customer takes a partial shipment now, the rest later (ORD-04; needs ``order.edit``).

        Raises:
            InvalidTransitionError: It is not short.
        """
        return self._act(
            actor,
            order_id,
            Permission.ORDER_EDIT,
            lambda uow, order, now: order.choose_partial(by=actor, at=now),
        )

    def cancel(self, actor: Actor, order_id: uuid.UUID | str, *, reason: str) -> OrderView:
        """
        Cancel an order before shipment and release its reservations (needs ``order.cancel``).

        Raises:
            InvalidTransitionError: Something was shipped, or it is cancelled already.
            InvalidInputError: No reason.
        """

        def act(uow: UnitOfWork, order: Order, now: datetime) -> None:
            self._release(uow, order, order.cancel(reason=reason, by=actor, at=now))
            uow.port(TimerStore).cancel(aggregate_id=order.id)

        return self._act(actor, order_id, Permission.ORDER_CANCEL, act)

    def modify(self, actor: Actor, order_id: uuid.UUID | str, **changes: Any) -> OrderView:
        """
        Change consignee, address, buyer note or special packaging before shipment (ORD-08, ``order.edit``).

        Example: ``shop.orders.modify(wu, order_id, address="...", packaging=["hardcover"])``.

        Raises:
            InvalidTransitionError: Something was shipped already, or it is cancelled.
            InvalidInputError: A field that cannot be modified, or a bad value.
        """
        if not changes:
            raise InvalidInputError("changes", "name at least one field to change")

        def act(uow: UnitOfWork, order: Order, now: datetime) -> None:
            order.modify(changes, by=actor, at=now)

        return self._act(actor, order_id, Permission.ORDER_EDIT, act)

    def change_items(
        self, actor: Actor, order_id: uuid.UUID | str, lines: Sequence[Mapping[str, Any]]
    ) -> OrderView:
        """
        Replace the items before shipment and reserve stock again (ORD-08; ``order.edit``).

        ``lines`` are ``{sku, quantity, unit_price, discount?}`` in the order's
        currency; the total is recomputed. A confirmed order's reservations are
        released and the new items allocated in the same unit of work.

        Raises:
            InvalidTransitionError: Something was shipped already, or it is cancelled.
            InvalidInputError: Bad lines (``lines.<i>.<field>``).
            NotFoundError: An unknown SKU.
        """
        from eshop_core.schemas.orders import ChannelOrderLine

        parsed = []
        if isinstance(lines, Mapping | str) or not lines:
            raise InvalidInputError("lines", "give at least one line")
        for i, raw in enumerate(lines):
            try:
                parsed.append(ChannelOrderLine.model_validate(raw))
            except ValueError as error:
                raise InvalidInputError(f"lines.{i}", str(error).splitlines()[-1].strip()) from None

        def act(uow: UnitOfWork, order: Order, now: datetime) -> None:
            currency = order.total.currency
            new = []
            for i, line in enumerate(parsed):
                self._shop.inventory.check_sku(uow, line.sku, field=f"lines.{i}.sku")
                price, discount = Money.of(line.unit_price, currency), Money.of(line.discount, currency)
                if not price.is_rounded or not discount.is_rounded:
                    raise InvalidInputError(f"lines.{i}", f"amounts must be whole minor units of {currency}")
                new.append(
                    OrderLine(sku=line.sku, quantity=line.quantity, unit_price=price, discount=discount)
                )
            self._release(uow, order, order.replace_lines(new, by=actor, at=now))
            if order.state is OrderState.CONFIRMED:
                policy = self._shop.policies.version_in_force(uow, now)
                self._allocate(uow, order, actor, now, policy)

        return self._act(actor, order_id, Permission.ORDER_EDIT, act)

    def timeline(self, actor: Actor, order_id: uuid.UUID | str) -> tuple[OrderStep, ...]:
        """
        Return every step of an order, oldest first: received, paid, held, confirmed, shipped... (ORD-06).

        Steps name what happened, who did it and when; they never carry personal data.

        Raises:
            PermissionDeniedError: Missing ``order.read``.
            NotFoundError: No such order.
        """
        return self.get(actor, order_id).steps

    def export(
        self,
        actor: Actor,
        out: TextIO,
        *,
        format: str = "csv",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """
        Write the sales data of orders placed in ``[since, until)`` to ``out``; return how many (ORD-09).

        One row per order: order number, channel, state, placed and paid times,
        items (``sku*units``), units, amounts, currency, payment method and the
        shipping address. The consignee's name, phone and street are masked
        (``***``) unless the actor holds ``personal_data.read``. ``format`` is
        ``"csv"`` (with a header row) or ``"json"`` (one JSON object per line).

        Raises:
            PermissionDeniedError: Missing ``order.export``.
            InvalidInputError: An unknown format, or naive times.
        """
        authorize(actor, Permission.ORDER_EXPORT)
        if format not in ("csv", "json"):
            raise InvalidInputError("format", f"must be 'csv' or 'json', got {format!r}")
        since = None if since is None else ensure_aware(since, field="since")
        until = None if until is None else ensure_aware(until, field="until")
        personal = self._personal(actor)
        writer = csv.writer(out) if format == "csv" else None
        if writer is not None:
            writer.writerow(EXPORT_COLUMNS)
        count = 0
        with self._shop.unit_of_work(actor) as uow:
            for order in all_pages(uow, Order):
                if (since is not None and order.placed_at < since) or (
                    until is not None and order.placed_at >= until
                ):
                    continue
                row = _export_row(OrderView.of(order, personal=personal))
                if writer is not None:
                    writer.writerow([row[c] for c in EXPORT_COLUMNS])
                else:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        return count

    def retry_allocation(self, actor: Actor, *, limit: int = 500) -> tuple[OrderView, ...]:
        """
        Try again to reserve what waiting orders miss, oldest first (needs ``order.edit``).

        Backordered orders are filled only whole; partial ones (also partly shipped) take what is there.

        Returns the orders that changed; those now complete are ``allocated``.
        """
        authorize(actor, Permission.ORDER_EDIT)
        now = self._shop.clock.now()
        changed = []
        with self._shop.unit_of_work(actor) as uow:
            policy = self._shop.policies.version_in_force(uow, now)
            waiting = [
                o
                for state in (OrderState.BACKORDERED, OrderState.PARTIAL, OrderState.PARTIALLY_SHIPPED)
                for o in all_pages(uow, Order, {"state": state})
                if o.shortage
            ]
            for order in sorted(waiting, key=lambda o: o.placed_at)[:limit]:
                before = order.version
                self._allocate_waiting(uow, order, actor, now, policy)
                if order.version != before:
                    uow.repository(Order).save(order)
                    changed.append(order)
            uow.port(OrderBook).note(changed)
            uow.commit()
        personal = self._personal(actor)
        return tuple(OrderView.of(o, personal=personal) for o in changed)

    def _allocate_waiting(
        self, uow: UnitOfWork, order: Order, actor: Actor, now: datetime, policy: PolicyVersion
    ) -> None:
        missing = order.shortage
        candidates = self._candidates(uow, missing, _Batch(index_key=uow.index_key))
        plan = default_allocation(missing, candidates)
        if order.state is OrderState.BACKORDERED and any(
            sum(n for _w, n in plan.get(sku, ())) < units for sku, units in missing.items()
        ):
            return  # a backorder ships whole: wait until everything is there
        reserved: Allocation = {}
        for sku, parts in plan.items():
            for warehouse, units in parts:
                try:
                    self._shop.inventory.reserve_in(
                        uow, sku, warehouse, units, reference=f"order:{order.id}", policy=policy
                    )
                except InsufficientStockError:
                    continue
                reserved.setdefault(sku, []).append((warehouse, units))
        if not reserved:
            return
        if order.state is OrderState.BACKORDERED and any(
            sum(n for _w, n in reserved.get(sku, ())) < units for sku, units in missing.items()
        ):
            for sku, parts in reserved.items():
                for warehouse, units in parts:
                    self._shop.inventory.release_in(uow, sku, warehouse, units, reference=f"order:{order.id}")
            return
        order.allocate(reserved, by=actor, at=now)

    # -- timers ------------------------------------------------------------------------------

    def on_payment_reminder(self, context: TimerContext) -> None:
        """Timer handler: remind the buyer if the order is still unpaid (ORD-07)."""
        uow = context.uow
        order = uow.repository(Order).get(context.timer.aggregate_id)
        if order.remind_payment(by=uow.actor, at=context.timer.due_at):
            uow.repository(Order).save(order)
            uow.port(OrderBook).note([order])

    def on_confirmation_due(self, context: TimerContext) -> None:
        """Timer handler: flag the order overdue if it is still unconfirmed (ORD-03)."""
        uow = context.uow
        order = uow.repository(Order).get(context.timer.aggregate_id)
        if order.flag_overdue(by=uow.actor, at=context.timer.due_at):
            uow.repository(Order).save(order)
            uow.port(OrderBook).note([order])


EXPORT_COLUMNS: Final = (
    "order_number",
    "channel",
    "state",
    "placed_at",
    "paid_at",
    "items",
    "units",
    "lines_total",
    "shipping_fee",
    "discount",
    "total",
    "currency",
    "payment_method",
    "consignee",
    "phone",
    "province",
    "city",
    "district",
    "address",
)
"""The columns of :meth:`OrdersService.export`, in order."""


def _amount(money: Money) -> str:
    """The amount with exactly the currency's minor digits (``0`` becomes ``0.00``)."""
    return f"{money.amount:.{money.minor_digits}f}"


def _export_row(view: OrderView) -> dict[str, Any]:
    lines_total = sum((line.total for line in view.lines), Money.zero(view.total.currency))
    return {
        "order_number": view.external_id,
        "channel": view.channel,
        "state": view.state.value,
        "placed_at": view.placed_at.isoformat(),
        "paid_at": None if view.paid_at is None else view.paid_at.isoformat(),
        "items": ";".join(f"{line.sku}*{line.quantity}" for line in view.lines),
        "units": sum(line.quantity for line in view.lines),
        "lines_total": _amount(lines_total),
        "shipping_fee": _amount(view.shipping_fee),
        "discount": _amount(view.discount),
        "total": _amount(view.total),
        "currency": view.total.currency,
        "payment_method": view.payment_method,
        "consignee": view.consignee_name,
        "phone": view.consignee_phone,
        "province": view.province,
        "city": view.city,
        "district": view.district,
        "address": view.address,
    }


def _count(batch: _Batch, order: Order) -> None:
    """Add ``order`` to the batch's totals, so later orders of the batch see it in the averages."""
    currency = order.total.currency
    totals = batch.totals.get(currency)
    if totals is None:
        return
    n, s = totals.shop
    per_buyer = totals.per_buyer
    if order.buyer is not None:
        index = batch.index(order.buyer)
        bn, bs = per_buyer.get(index, (0, Money.zero(currency)))
        per_buyer[index] = (bn + 1, bs + order.total)
    batch.totals[currency] = OrderTotals(per_buyer=per_buyer, shop=(n + 1, s + order.total))


def _items(fields: Mapping[str, Any]) -> str:
    from eshop_core.domain.orders import items_key

    return items_key((line.sku, line.quantity) for line in fields["lines"])

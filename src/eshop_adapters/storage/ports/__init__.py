"""
SQL implementations of the named ports.

* :mod:`~eshop_adapters.storage.ports.outbox` — ``OutboxStore`` (``outbox_events``, ``outbox_deliveries``);
* :mod:`~eshop_adapters.storage.ports.timers` — ``TimerStore`` (``timers``);
* :mod:`~eshop_adapters.storage.ports.audit` — ``AuditLog`` (``audit_log``, append-only);
* :mod:`~eshop_adapters.storage.ports.testkit` — the test kit's ``WidgetStock``.

Each port is built per unit of work from a
:class:`~eshop_adapters.storage.sql.SqlUnitOfWork` and runs single statements
through it. They are registered by :mod:`eshop_adapters.storage.plugin`.
"""

"""
Services: thin orchestration over units of work.

Each call takes the acting :class:`~eshop_core.access.Actor`, authorizes it,
loads aggregates from a unit of work, calls a domain method and commits.
Services hang off the :class:`~eshop_core.Shop` (``shop.outbox``, ``shop.audit``
and, as capabilities land, ``shop.catalog``, ``shop.orders`` ...).
"""

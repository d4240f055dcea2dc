"""
The pure domain model: attrs aggregates, value objects and their lifecycles.

Domain code performs no I/O and never imports pydantic, pluggy, httpx,
SQLAlchemy, :mod:`eshop_core.schemas`, :mod:`eshop_core.services` or
:mod:`eshop_core.storage`; import-linter enforces it.
"""

from eshop_core.domain._aggregate import Aggregate, RecordedEvent, personal_fields
from eshop_core.domain._lifecycle import Lifecycle

__all__ = ["Aggregate", "Lifecycle", "RecordedEvent", "personal_fields"]

"""
Storage ports and the in-memory backend.

:mod:`eshop_core.storage.ports` declares what every backend provides;
:mod:`eshop_core.storage.unit_of_work` holds the logic all backends share;
:mod:`eshop_core.storage.memory` is the in-memory backend. SQL backends live in
``eshop_adapters.storage``; there is no SQLAlchemy in core.
"""

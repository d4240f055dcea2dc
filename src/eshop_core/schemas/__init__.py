"""
Boundary models (pydantic v2): everything that comes from outside is validated here once.

Commands are ``frozen=True, extra="forbid"``; channel payloads are tolerant
(``extra="ignore"``) and keep their raw form; settings come from the
environment. Validation failures surface as
:class:`~eshop_core.errors.InvalidInputError` naming the field.
"""

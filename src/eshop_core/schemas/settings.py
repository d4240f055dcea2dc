"""
Shop settings read from the environment, for the command line and hosts.

Example:
    >>> from eshop_core.schemas.settings import ShopSettings
    >>> ShopSettings.from_env({"ESHOP_DB": "memory://"}).db
    'memory://'
    >>> ShopSettings.from_env({"ESHOP_DB": "no-scheme"})
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid ESHOP_DB: not a storage URL such as 'sqlite:///shop.db'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pydantic

from eshop_core.errors import InvalidInputError

__all__ = ["DEFAULT_DB", "ShopSettings"]

DEFAULT_DB: Final = "sqlite:///eshop.db"

_ENV_NAMES: Final = {"db": "ESHOP_DB", "keyring": "ESHOP_KEYRING"}


class ShopSettings(pydantic.BaseModel):
    """
    Where the shop lives and where its keys are.

    Attributes:
        db: Storage URL (``ESHOP_DB``; default ``sqlite:///eshop.db``).
        keyring: Keyring file path or JSON (``ESHOP_KEYRING``), kept secret.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    db: str = DEFAULT_DB
    keyring: pydantic.SecretStr | None = None

    @pydantic.field_validator("db")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("not a storage URL such as 'sqlite:///shop.db'")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ShopSettings:
        """Build settings from environment variables; raise :class:`InvalidInputError` naming the variable."""
        values = {field: environ[name] for field, name in _ENV_NAMES.items() if environ.get(name)}
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            field = _ENV_NAMES.get(str(first["loc"][0]), str(first["loc"][0]))
            reason = str(first["msg"]).removeprefix("Value error, ")
            raise InvalidInputError(field, reason) from None

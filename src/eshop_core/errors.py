"""
The exception tree of eshop.

Everything an integrator may need to catch derives from :class:`EshopError`
and is importable from :mod:`eshop_core`::

    EshopError
    ├── InvalidInputError (also ValueError)
    ├── NotFoundError
    ├── DomainError
    │   ├── InvalidTransitionError
    │   ├── PolicyViolationError
    │   ├── InsufficientStockError
    │   └── ConcurrencyError
    ├── PermissionDeniedError
    ├── PluginError
    │   ├── BackendNotFoundError
    │   └── ChannelNotFoundError
    ├── StorageError
    │   ├── SchemaVersionError
    │   ├── KeyringError
    │   └── DuplicateKeyError
    └── ChannelError
        └── ChannelAPIError
            ├── ChannelThrottledError
            ├── ChannelAuthError
            └── ChannelUnavailableError

    EshopWarning (UserWarning)
    └── CalendarCoverageWarning

Errors carry structured attributes (ids, field paths, states) besides their
text, so callers can react without parsing messages. Each error has an English
message (``str(error)``) and a Chinese one (:attr:`EshopError.message_zh`).

Example:
    >>> from eshop_core import InvalidInputError
    >>> err = InvalidInputError("currency", "unknown ISO 4217 code 'XYZ'")
    >>> err.field, err.reason
    ('currency', "unknown ISO 4217 code 'XYZ'")
    >>> str(err)
    "invalid currency: unknown ISO 4217 code 'XYZ'"
    >>> isinstance(err, ValueError)
    True
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BackendNotFoundError",
    "CalendarCoverageWarning",
    "ChannelAPIError",
    "ChannelAuthError",
    "ChannelError",
    "ChannelNotFoundError",
    "ChannelThrottledError",
    "ChannelUnavailableError",
    "ConcurrencyError",
    "DomainError",
    "DuplicateKeyError",
    "EshopError",
    "EshopWarning",
    "InsufficientStockError",
    "InvalidInputError",
    "InvalidTransitionError",
    "KeyringError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "PolicyViolationError",
    "SchemaVersionError",
    "StorageError",
]


class EshopError(Exception):
    """
    Base of every error raised by eshop.

    Args:
        message: The English message.
        message_zh: The Chinese message; defaults to the English one.

    Attributes:
        message: The English message (also ``str(error)``).
        message_zh: The Chinese message, for user-facing displays.
    """

    def __init__(self, message: str, *, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh if message_zh is not None else message

    def localized(self, language: str) -> str:
        """
        Return the message in ``language`` (``"zh"`` or anything else for English).

        Example:
            >>> NotFoundError("Order", "42").localized("zh")
            '找不到 Order 42'
        """
        return self.message_zh if language.lower().startswith("zh") else self.message


class InvalidInputError(EshopError, ValueError):
    """
    Input from outside failed validation; nothing was changed.

    Attributes:
        field: Dotted path of the offending field (``"lines.0.quantity"``).
        reason: Why the value was refused.
        errors: Every ``(field, reason)`` pair when several fields failed.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        errors: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        self.field = field
        self.reason = reason
        self.errors: tuple[tuple[str, str], ...] = tuple(errors) if errors else ((field, reason),)
        if len(self.errors) > 1:
            details = "; ".join(f"{f}: {r}" for f, r in self.errors)
            super().__init__(
                f"invalid input: {details}",
                message_zh=f"输入无效：{details}",
            )
        else:
            super().__init__(f"invalid {field}: {reason}", message_zh=f"字段 {field} 无效：{reason}")


class NotFoundError(EshopError):
    """
    The named object does not exist.

    Attributes:
        kind: What was looked for (``"Order"``).
        key: Its identifier as text.
    """

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = str(key)
        super().__init__(f"{kind} {key} not found", message_zh=f"找不到 {kind} {key}")


class DomainError(EshopError):
    """A business rule refused the request; nothing was changed."""


class InvalidTransitionError(DomainError):
    """
    The action is not allowed in the object's current state.

    Attributes:
        subject: What was acted on (``"Order 0193..."``).
        state: Its current state.
        action: The refused action.
    """

    def __init__(self, subject: str, state: str, action: str) -> None:
        self.subject = subject
        self.state = state
        self.action = action
        super().__init__(
            f"{subject}: cannot {action} when {state}",
            message_zh=f"{subject}：状态为 {state} 时不能执行 {action}",
        )


class PolicyViolationError(DomainError):
    """
    The request breaks a rule of the policy in force.

    Attributes:
        rule: The policy rule's name.
        policy_version: The version of the policy that refused it, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        policy_version: int | None = None,
        message_zh: str | None = None,
    ) -> None:
        self.rule = rule
        self.policy_version = policy_version
        super().__init__(message, message_zh=message_zh)


class InsufficientStockError(DomainError):
    """
    Not enough available stock for the request.

    Attributes:
        sku: The stock-keeping unit.
        warehouse: The warehouse code.
        requested: Quantity asked for.
        available: Quantity available when refused.
    """

    def __init__(self, sku: str, warehouse: str, requested: int, available: int) -> None:
        self.sku = sku
        self.warehouse = warehouse
        self.requested = requested
        self.available = available
        super().__init__(
            f"insufficient stock of {sku} in {warehouse}: requested {requested}, available {available}",
            message_zh=f"{warehouse} 仓 {sku} 库存不足：需要 {requested}，可用 {available}",
        )


class ConcurrencyError(DomainError):
    """
    The object changed since it was read (optimistic version check failed).

    Attributes:
        kind: The aggregate type.
        key: Its identifier as text.
        expected_version: The version the caller had read.
    """

    def __init__(self, kind: str, key: object, expected_version: int) -> None:
        self.kind = kind
        self.key = str(key)
        self.expected_version = expected_version
        super().__init__(
            f"{kind} {key} was changed by someone else (expected version {expected_version}); "
            "reload and retry",
            message_zh=f"{kind} {key} 已被他人修改（预期版本 {expected_version}），请重新加载后重试",
        )


class PermissionDeniedError(EshopError):
    """
    The actor may not do this.

    Attributes:
        actor: The acting actor's id.
        permission: The permission that was missing.
    """

    def __init__(self, actor: str, permission: str, *, detail: str = "") -> None:
        self.actor = actor
        self.permission = permission
        suffix = f" ({detail})" if detail else ""
        super().__init__(
            f"{actor} lacks permission {permission}{suffix}",
            message_zh=f"{actor} 没有 {permission} 权限{suffix}",
        )


class PluginError(EshopError):
    """A plug-in is missing, broken or misbehaved."""


class BackendNotFoundError(PluginError):
    """
    No storage backend serves the given URL scheme.

    Attributes:
        scheme: The requested scheme.
        known: The schemes that are available.
    """

    def __init__(self, scheme: str, known: Sequence[str]) -> None:
        self.scheme = scheme
        self.known = tuple(sorted(known))
        listing = ", ".join(self.known) or "none"
        super().__init__(
            f"no storage backend for scheme {scheme!r}; known schemes: {listing}",
            message_zh=f"没有处理 {scheme!r} 的存储后端；可用：{listing}",
        )


class ChannelNotFoundError(PluginError):
    """
    No channel adapter is registered under this name.

    Attributes:
        channel: The requested channel.
        known: The registered channels.
    """

    def __init__(self, channel: str, known: Sequence[str]) -> None:
        self.channel = channel
        self.known = tuple(sorted(known))
        listing = ", ".join(self.known) or "none"
        super().__init__(
            f"unknown channel {channel!r}; known channels: {listing}",
            message_zh=f"未知渠道 {channel!r}；可用：{listing}",
        )


class StorageError(EshopError):
    """The storage backend failed or is misconfigured; the unit of work was rolled back."""


class SchemaVersionError(StorageError):
    """
    The database schema does not match this version of the code.

    Attributes:
        database_revision: The revision found in the database.
        code_revision: The newest revision this code knows.
    """

    def __init__(self, database_revision: str | None, code_revision: str, *, detail: str = "") -> None:
        self.database_revision = database_revision
        self.code_revision = code_revision
        msg = f"database schema is at {database_revision!r}, this code expects {code_revision!r}"
        super().__init__(f"{msg}{'; ' + detail if detail else ''}")


class KeyringError(StorageError):
    """A key is missing, wrong or unreadable; nothing was written."""


class DuplicateKeyError(StorageError):
    """
    A unique key was stored twice — usually by another unit of work first; nothing was written.

    Retrying the work sees the stored key.

    Attributes:
        table: The table whose unique key clashed, if known.
    """

    def __init__(self, message: str, *, table: str | None = None) -> None:
        self.table = table
        super().__init__(message)


class ChannelError(EshopError):
    """
    A sales channel failed.

    Attributes:
        channel: The channel's name.
    """

    def __init__(self, message: str, *, channel: str) -> None:
        self.channel = channel
        super().__init__(message)


class ChannelAPIError(ChannelError):
    """
    The channel's API answered with an error.

    Attributes:
        status_code: HTTP status, when there was a response.
        code: The platform's own error code, when given.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        status_code: int | None = None,
        code: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        super().__init__(message, channel=channel)


class ChannelThrottledError(ChannelAPIError):
    """
    The channel throttled the call.

    Attributes:
        retry_after: Seconds to wait before retrying, when the channel said.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        status_code: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, channel=channel, status_code=status_code, code=code)


class ChannelAuthError(ChannelAPIError):
    """The channel refused the credentials or signature."""


class ChannelUnavailableError(ChannelAPIError):
    """The channel could not be reached, timed out or answered 5xx."""


class EshopWarning(UserWarning):
    """Base of every warning issued by eshop."""


class CalendarCoverageWarning(EshopWarning):
    """A business-calendar result relies on provisional holiday rules for a year not yet verified."""

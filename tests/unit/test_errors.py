"""The error tree and its structured attributes."""

from __future__ import annotations

import eshop_core
from eshop_core import errors


def test_every_error_is_importable_from_the_package_and_derives_from_eshop_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert getattr(eshop_core, name) is cls
        if name.endswith("Error"):
            assert issubclass(cls, errors.EshopError)
        else:
            assert issubclass(cls, errors.EshopWarning)


def test_tree_matches_the_documented_shape() -> None:
    e = errors
    assert issubclass(e.InvalidInputError, ValueError)
    for cls in (
        e.InvalidTransitionError,
        e.PolicyViolationError,
        e.InsufficientStockError,
        e.ConcurrencyError,
    ):
        assert issubclass(cls, e.DomainError)
    assert issubclass(e.BackendNotFoundError, e.PluginError)
    assert issubclass(e.ChannelNotFoundError, e.PluginError)
    assert issubclass(e.SchemaVersionError, e.StorageError)
    assert issubclass(e.KeyringError, e.StorageError)
    for cls in (e.ChannelThrottledError, e.ChannelAuthError, e.ChannelUnavailableError):
        assert issubclass(cls, e.ChannelAPIError)
    assert issubclass(e.ChannelAPIError, e.ChannelError)
    assert issubclass(e.CalendarCoverageWarning, UserWarning)


def test_errors_carry_structured_attributes_and_both_languages() -> None:
    err = errors.InsufficientStockError("SKU-1", "SH", requested=5, available=2)
    assert (err.sku, err.warehouse, err.requested, err.available) == ("SKU-1", "SH", 5, 2)
    assert "insufficient stock" in str(err)
    assert "库存不足" in err.localized("zh-CN")
    assert err.localized("en") == str(err)
    transition = errors.InvalidTransitionError("Order 1", "cancelled", "confirm")
    assert (transition.subject, transition.state, transition.action) == ("Order 1", "cancelled", "confirm")
    concurrency = errors.ConcurrencyError("Widget", "abc", 3)
    assert (concurrency.kind, concurrency.key, concurrency.expected_version) == ("Widget", "abc", 3)
    throttled = errors.ChannelThrottledError("slow down", channel="tmall", status_code=429, retry_after=2.5)
    assert (throttled.channel, throttled.status_code, throttled.retry_after) == ("tmall", 429, 2.5)


def test_invalid_input_with_several_fields_lists_them_all() -> None:
    err = errors.InvalidInputError(
        "lines.0.quantity",
        "must be positive",
        errors=[
            ("lines.0.quantity", "must be positive"),
            ("placed_at", "naive datetime"),
        ],
    )
    assert err.field == "lines.0.quantity"
    assert len(err.errors) == 2
    assert "placed_at: naive datetime" in str(err)


def test_backend_not_found_lists_known_schemes_sorted() -> None:
    err = errors.BackendNotFoundError("mysql", ["sqlite", "memory"])
    assert err.known == ("memory", "sqlite")
    assert str(err) == "no storage backend for scheme 'mysql'; known schemes: memory, sqlite"

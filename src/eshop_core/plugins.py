"""
The plug-in manager: built-in defaults plus entry-point discovery.

Each :class:`~eshop_core.Shop` owns its own manager; there is no global one.
Built-in features are plug-ins too (:data:`DEFAULT_PLUGINS`). Distributions
register through the ``eshop`` entry-point group — this library's own SQL
backend exactly like a third party's. ``ESHOP_LOAD_PLUGINS`` (comma-separated
entry-point names; empty loads none) filters third-party plug-ins; this
distribution's own entry points always load. ``ESHOP_TRACE_PLUGINS=1`` logs
every hook call to the ``eshop.plugins`` logger.

Example:
    >>> from eshop_core.plugins import get_plugin_manager
    >>> pm = get_plugin_manager()
    >>> pm.has_plugin("eshop_core.storage.memory")
    True
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any, Final

import pluggy

from eshop_core import hookspecs
from eshop_core.errors import PluginError

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "LOAD_PLUGINS_ENV",
    "TRACE_PLUGINS_ENV",
    "get_plugin_manager",
]

log = logging.getLogger("eshop.plugins")

ENTRY_POINT_GROUP: Final = "eshop"
LOAD_PLUGINS_ENV: Final = "ESHOP_LOAD_PLUGINS"
TRACE_PLUGINS_ENV: Final = "ESHOP_TRACE_PLUGINS"
OWN_DISTRIBUTION: Final = "eshop"

DEFAULT_PLUGINS: Final[tuple[str, ...]] = (
    "eshop_core.storage.memory",
    "eshop_core.services.order_plugin",
    "eshop_core.testing.example",
)
"""Modules of eshop_core registered in every plug-in manager."""


def _allowed_third_party(environ: Mapping[str, str]) -> frozenset[str] | None:
    value = environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def _load_entry_points(pm: pluggy.PluginManager, environ: Mapping[str, str]) -> None:
    allowed = _allowed_third_party(environ)
    seen: set[str] = set()
    for dist in importlib.metadata.distributions():
        dist_name = (dist.metadata["Name"] or "").lower()
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP or ep.name in seen:
                continue
            own = dist_name == OWN_DISTRIBUTION
            if not own and allowed is not None and ep.name not in allowed:
                log.debug("plug-in %s skipped: not in %s", ep.name, LOAD_PLUGINS_ENV)
                continue
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f"plug-in {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
            pm.register(plugin, name=ep.name)
            seen.add(ep.name)


def get_plugin_manager(
    *,
    plugins: Iterable[object] = (),
    load_entrypoints: bool = True,
    environ: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """
    Return a new plug-in manager with the hook specs, the defaults, entry points and ``plugins``.

    Args:
        plugins: Extra plug-in objects (modules, classes or instances) to register last.
        load_entrypoints: Whether to discover plug-ins through the ``eshop`` entry-point group.
        environ: Environment to read ``ESHOP_LOAD_PLUGINS`` / ``ESHOP_TRACE_PLUGINS`` from.

    Raises:
        PluginError: A plug-in failed to load or implements an unknown hook.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entrypoints:
        _load_entry_points(pm, env)
    for plugin in plugins:
        name = _plugin_name(plugin)
        registered = pm.get_plugin(name)
        if registered is plugin:
            continue
        if registered is not None:
            raise PluginError(f"two plug-ins are named {name!r}; give one an `eshop_plugin_name` attribute")
        pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    if env.get(TRACE_PLUGINS_ENV, "") not in ("", "0"):
        pm.add_hookcall_monitoring(_before, _after)
    return pm


def _plugin_name(plugin: object) -> str:
    name = getattr(plugin, "eshop_plugin_name", None) or getattr(plugin, "__name__", None)
    if isinstance(name, str):
        return name
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _before(hook_name: str, hook_impls: Any, kwargs: Mapping[str, Any]) -> None:
    log.debug("hook %s called with %s", hook_name, sorted(kwargs))


def _after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: Mapping[str, Any]) -> None:
    log.debug(
        "hook %s returned %r",
        hook_name,
        outcome.get_result() if outcome.exception is None else outcome.exception,
    )

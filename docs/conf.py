"""Sphinx configuration for the eshop documentation (built offline: no intersphinx)."""

from __future__ import annotations

import enum
import functools
import importlib
import importlib.metadata
import importlib.util
import pkgutil
from typing import Any

project = "eshop"
author = "The eshop maintainers"
copyright = "the eshop maintainers"
release = importlib.metadata.version("eshop")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"eshop {release}"

# -- autodoc -----------------------------------------------------------------

autodoc_typehints = "description"
# The conformance suite imports pytest, which the docs-only install lacks.
autodoc_mock_imports = [] if importlib.util.find_spec("pytest") else ["pytest"]
autodoc_preserve_defaults = True
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- nitpicky: every cross-reference must resolve ------------------------------

nitpicky = True

# Without intersphinx (the build is offline), references to the standard
# library and third-party packages cannot resolve; they are listed here.
nitpick_ignore_regex = [
    # the standard library
    (r"py:.*", r"(datetime|decimal|uuid|enum|collections\.abc|typing|types|abc|os|pathlib)\..*"),
    (r"py:class", r"(datetime|date|time|timedelta|tzinfo|Decimal|UUID|ZoneInfo|Path|TracebackType)"),
    (r"py:class", r"zoneinfo\.ZoneInfo"),
    (r"py:class", r"(StrEnum|Enum|ABC|Protocol|Generic|Any|Self|Final|ClassVar|Literal|TypeVar|ParamSpec)"),
    (r"py:class", r"(Mapping|Sequence|Iterable|Iterator|Callable|Collection|MutableMapping)"),
    (r"py:class", r"(Exception|ValueError|UserWarning|Warning|BaseException|object|type|int|str|bytes|bool)"),
    (r"py:class", r"(float|dict|list|tuple|set|frozenset|None|NoneType)"),
    (r"py:class", r"(os\.)?PathLike.*"),
    (r"py:func", r"datetime\.now"),
    (r"py:mod", r"(decimal|datetime|zoneinfo)"),
    # third-party packages
    (
        r"py:.*",
        r"(pluggy|pydantic|typer|attrs|attr|babel|holidays|iso4217|phonenumbers|pytest|_pytest|sqlalchemy)(\..*)?",
    ),
    (r"py:class", r"(PluginManager|Typer|Attribute|HookimplMarker|HookspecMarker|HolidayBase)"),
    (r"py:mod", r"iso4217"),
    # type variables and private helpers that appear in signatures
    (r"py:.*", r"(eshop_core\..*\.)?[ATP]"),
    (r"py:class", r"eshop_core\..*\._.*"),
]


nitpick_ignore: list[tuple[str, str]] = []


# -- each public name is documented once ---------------------------------------
#
# Names re-exported by a public package (``eshop_core``, ``eshop_core.testing``)
# are documented there, once; the sections of their defining modules skip them.
# References may use either spelling (``eshop_core.Money.format`` or
# ``eshop_core.money.Money.format``, or a name relative to the module a
# docstring lives in): unresolved ones are retried under the documented name.

_PUBLIC_PACKAGES = ("eshop_core", "eshop_core.testing")
_current_module: list[str] = [""]


@functools.cache
def _public_names() -> dict[str, dict[str, object]]:
    names: dict[str, dict[str, object]] = {}
    for package in _PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        names[package] = {name: getattr(module, name) for name in module.__all__}
    return names


@functools.cache
def _aliases() -> dict[str, str]:
    """Map every ``module.Name`` spelling of a re-exported object to its documented name."""
    import eshop_core

    table: dict[str, str] = {}
    modules = ["eshop_core"] + [
        m.name for m in pkgutil.walk_packages(eshop_core.__path__, "eshop_core.") if "._" not in m.name
    ]
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # a module needing an extra that is not installed
            continue
        for package, names in _public_names().items():
            for name, obj in names.items():
                if module_name != package and getattr(module, name, None) is obj:
                    table.setdefault(f"{module_name}.{name}", f"{package}.{name}")
                    defining = getattr(obj, "__module__", None)
                    if isinstance(defining, str):
                        table.setdefault(f"{package}.{name}@module", defining)
    return table


def _note_module(app: Any, what: str, name: str, obj: object, options: Any, lines: list[str]) -> None:
    if what == "module":
        _current_module[0] = name


def _skip_member(app: Any, what: str, name: str, obj: object, skip: bool, options: Any) -> bool | None:
    if what == "class" and isinstance(obj, enum.Enum):
        return False  # enum members are documented by their values
    module = _current_module[0]
    if what != "module" or not module:
        return None
    for package, names in _public_names().items():
        inside = package == "eshop_core" or module.startswith(package + ".")
        if module != package and inside and name in names and names[name] is obj:
            return True
    return None


def _rewrite(target: str) -> str | None:
    aliases = _aliases()
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in aliases:
            return ".".join([aliases[head], *parts[cut:]])
    return None


def _resolve_alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target: str = node["reftarget"]
    reftype: str = node["reftype"]
    module: str = node.get("py:module") or ""
    cls: str = node.get("py:class") or ""
    candidates = [target]
    if module:
        candidates.append(f"{module}.{target}")
        if cls:
            candidates.append(f"{module}.{cls}.{target}")
            defining = _aliases().get(f"{module}.{cls.split('.')[0]}@module")
            if defining:
                candidates.append(f"{defining}.{target}")
    domain = env.get_domain("py")
    for candidate in candidates:
        for name in (_rewrite(candidate), candidate if candidate != target else None):
            if name:
                found = domain.resolve_xref(env, node["refdoc"], app.builder, reftype, name, node, contnode)
                if found is not None:
                    return found
    # Last resort: the one documented object whose dotted name ends with the target.
    matches = domain.find_obj(env, module, cls, target, reftype, 1)
    if len(matches) == 1:
        fuzzy = node.deepcopy()
        fuzzy["refspecific"] = True
        return domain.resolve_xref(env, node["refdoc"], app.builder, reftype, matches[0][0], fuzzy, contnode)
    return None


def setup(app: Any) -> None:
    app.connect("autodoc-process-docstring", _note_module)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _resolve_alias)

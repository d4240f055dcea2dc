"""Sphinx configuration for the eshop documentation (built offline: no intersphinx)."""

from __future__ import annotations

import importlib.metadata

project = "eshop"
author = "The eshop maintainers"
copyright = "the eshop maintainers"  # noqa: A001
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
    (r"py:.*", r"(pluggy|typer|attrs|attr|babel|holidays|iso4217|phonenumbers|pytest|_pytest|sqlalchemy)(\..*)?"),
    (r"py:class", r"(PluginManager|Typer|Attribute|HookimplMarker|HookspecMarker|HolidayBase)"),
    (r"py:mod", r"iso4217"),
    # type variables and private helpers that appear in signatures
    (r"py:class", r"(eshop_core\..*\.)?[ATP]"),
    (r"py:class", r"eshop_core\..*\._.*"),
]

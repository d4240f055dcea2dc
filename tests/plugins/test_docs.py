"""Meta-tests: the documentation keeps up with the code."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import eshop_core
from eshop_core import hookspecs
from eshop_core.access import ROLE_PERMISSIONS, Permission, Role

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"

QUICK_START_COMMANDS = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/eshop demo",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest",
)


def _hooks() -> dict[str, Callable[..., Any]]:
    return {
        name: function
        for name, function in vars(hookspecs).items()
        if name.startswith("eshop_") and inspect.isfunction(function)
    }


HOOKS = sorted(_hooks())


def _call_form(name: str) -> str:
    """``eshop_event(envelope)``: the hook's name and its argument names."""
    return f"{name}({', '.join(inspect.signature(_hooks()[name]).parameters)})"


def _headings(text: str) -> list[str]:
    return [line.lstrip("#").strip() for line in text.splitlines() if re.match(r"#{1,6} ", line)]


def test_hookspecs_define_hooks() -> None:
    assert HOOKS, "no eshop_* hooks found in eshop_core.hookspecs"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_section_in_the_hooks_reference(name: str) -> None:
    text = (DOCS / "reference" / "hooks.md").read_text(encoding="utf-8")
    headings = [h for h in _headings(text) if _call_form(name) in h]
    assert headings, f"docs/reference/hooks.md needs a heading containing {_call_form(name)!r}"
    assert f"(hook-{name})=" in text, f"docs/reference/hooks.md needs the label (hook-{name})="
    assert f".. autofunction:: eshop_core.hookspecs.{name}" in text


def test_the_hooks_reference_documents_no_unknown_hook() -> None:
    text = (DOCS / "reference" / "hooks.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\(hook-(eshop_\w+)\)=$", text, flags=re.MULTILINE))
    assert documented == set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    pattern = re.compile(rf"^\s*def test_hook_{name}(?:_\w*)?\(", re.MULTILINE)
    found = [
        path
        for path in TESTS.rglob("*.py")
        if path.resolve() != Path(__file__).resolve() and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found, f"no test function named test_hook_{name}... under tests/"


def _quick_start(readme: str) -> str:
    match = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md needs a '## Quick start' section"
    return match.group(1)


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```console\n(.*?)^```", _quick_start(readme), flags=re.MULTILINE | re.DOTALL)
    commands = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert tuple(commands) == QUICK_START_COMMANDS


def _role_matrix_in_docs() -> dict[str, set[str]]:
    text = (DOCS / "concepts" / "access.md").read_text(encoding="utf-8")
    match = re.search(
        r"^% role-matrix: begin\n(.*?)^% role-matrix: end", text, flags=re.MULTILINE | re.DOTALL
    )
    assert match, "docs/concepts/access.md needs the role matrix between '% role-matrix: begin/end'"
    rows = [line for line in match.group(1).splitlines() if line.startswith("|")]
    assert rows[0].replace(" ", "") == "|role|permissions|"
    matrix: dict[str, set[str]] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 2, row
        role = cells[0].strip("`")
        assert role not in matrix, f"role {role} listed twice"
        matrix[role] = set(re.findall(r"`([^`]+)`", cells[1]))
    return matrix


def test_role_matrix_table_equals_role_permissions() -> None:
    expected = {role.value: {p.value for p in perms} for role, perms in ROLE_PERMISSIONS.items()}
    assert _role_matrix_in_docs() == expected


def test_access_page_lists_every_role_and_permission() -> None:
    text = (DOCS / "concepts" / "access.md").read_text(encoding="utf-8")
    for value in [r.value for r in Role] + [p.value for p in Permission]:
        assert re.search(rf"^\| `{re.escape(value)}` \|", text, flags=re.MULTILINE), value


def test_api_reference_covers_every_public_name() -> None:
    text = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    assert re.search(r"\.\. automodule:: eshop_core\n\s+:members:", text), (
        "api.md must document eshop_core's members"
    )
    for name in eshop_core.__all__:
        obj = getattr(eshop_core, name)
        # autodoc documents classes and functions with a docstring; data needs its own entry
        auto = (inspect.isclass(obj) or inspect.isfunction(obj)) and bool(inspect.getdoc(obj))
        assert auto or f".. py:data:: {name}" in text, f"{name} is not documented in docs/reference/api.md"


def test_skipped_doc_examples_name_their_issue() -> None:
    pages = [ROOT / "README.md", *DOCS.rglob("*.md")]
    for page in pages:
        if "_build" in page.parts:
            continue
        for line in page.read_text(encoding="utf-8").splitlines():
            if re.match(r"^%\s*skip:", line):
                assert re.match(r'^% skip: next "needs [^"]*\(issues? \d+[^"]*"$', line), (
                    f"{page.name}: {line}"
                )

"""
Development sessions: ``nox -s tests lint typecheck docs bench``.

Each session builds its own virtual environment under ``.nox/`` and can reuse
it (``nox -r``). The same checks run in CI through ``.ci/run``.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

PYTHON = "3.11"
ROOT = Path(__file__).parent


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, property, contract, docs examples); extra arguments go to pytest."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style, formatting and the import rules."""
    session.install("ruff", "import-linter", "-e", ".")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check the library and the typing tests with mypy --strict."""
    session.install("-e", ".[dev]")
    session.run("mypy", "src", "tests/typing")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the HTML documentation; any warning fails the build."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every ``benchmarks/*.py`` script in turn; each prints a JSON line with its results."""
    scripts = sorted((ROOT / "benchmarks").glob("*.py"))
    if not scripts:
        session.skip("no benchmark scripts in benchmarks/")
    session.install("-e", ".[postgres]")
    for script in scripts:
        session.run("python", str(script.relative_to(ROOT)), *session.posargs)

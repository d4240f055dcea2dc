"""
Run the documentation's examples as tests (sybil).

* MyST pages under ``docs/`` and the ``README.md``: every ```` ```python ````
  fence runs (as a doctest when it starts with ``>>>``); a block that needs a
  capability not built yet is preceded by ``% skip: next "needs ... (issue N)"``.
* Docstrings of ``src/**/*.py``: every ``>>>`` example runs as a doctest.

Each page or module runs in its own namespace, top to bottom.
"""

from __future__ import annotations

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser

_OPTIONFLAGS = ELLIPSIS | NORMALIZE_WHITESPACE

_markdown = Sybil(
    parsers=[PythonCodeBlockParser(doctest_optionflags=_OPTIONFLAGS), SkipParser()],
    patterns=["docs/*.md", "docs/*/*.md", "README.md"],
    name="markdown",
)

_docstrings = Sybil(
    parsers=[DocTestParser(optionflags=_OPTIONFLAGS)],
    patterns=["src/*.py", "src/*/*.py", "src/*/*/*.py", "src/*/*/*/*.py", "src/*/*/*/*/*.py"],
    name="docstrings",
)

pytest_collect_file = (_markdown + _docstrings).pytest()

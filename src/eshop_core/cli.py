"""
The ``eshop`` command line.

Built with Typer and rich. Core commands are ``version`` and ``init``;
plug-ins add theirs through the ``eshop_register_commands`` hook (the
bundled adapters add ``demo``). User mistakes print one clear line and exit
non-zero, never a traceback.

Example:
    >>> from typer.testing import CliRunner
    >>> from eshop_core.cli import build_app
    >>> result = CliRunner().invoke(build_app(), ["init", "--db", "memory://"])
    >>> result.exit_code, "memory" in result.output
    (0, True)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Final

import typer
from rich.console import Console

from eshop_core.errors import EshopError
from eshop_core.plugins import get_plugin_manager
from eshop_core.schemas.settings import DEFAULT_DB, ShopSettings

__all__ = ["DB_ENV", "DEFAULT_DB", "build_app", "main", "open_shop_for_cli"]

DB_ENV: Final = "ESHOP_DB"

DbOption = Annotated[
    str | None,
    typer.Option("--db", help=f"Storage URL (default: ${DB_ENV} or {DEFAULT_DB})."),
]


def _db_url(db: str | None) -> str:
    return db or ShopSettings.from_env(os.environ).db


def open_shop_for_cli(db: str | None) -> object:
    """Open the shop named by ``--db`` / ``ESHOP_DB`` for a command (plug-in commands use it too)."""
    from eshop_core.shop import Shop

    return Shop.open(_db_url(db))


def build_app() -> typer.Typer:
    """Return the ``eshop`` Typer application with every plug-in's commands added."""
    app = typer.Typer(
        name="eshop",
        help="eshop: an online shop's operations rulebook as a library.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    console = Console()

    @app.command()
    def version() -> None:
        """Print the installed version."""
        from importlib.metadata import version as dist_version

        console.print(f"eshop {dist_version('eshop')}")

    @app.command()
    def init(db: DbOption = None) -> None:
        """Create (or upgrade) a shop's storage and report where it is."""
        from eshop_core.shop import Shop

        url = _db_url(db)
        with Shop.open(url) as shop:
            console.print(f"shop ready: {url} (backend {shop.backend.name})")

    get_plugin_manager().hook.eshop_register_commands(app=app)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; library errors become one line on stderr and exit code 1."""
    err = Console(stderr=True)
    try:
        app = build_app()
        app(args=list(argv) if argv is not None else None, prog_name="eshop")
    except EshopError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)

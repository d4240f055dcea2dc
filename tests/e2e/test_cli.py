"""The ``eshop`` command line and the demo, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eshop_core.cli import build_app


def _eshop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("ESHOP_DB", None)
    return subprocess.run(
        [sys.executable, "-c", "from eshop_core.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_help_lists_core_and_plugin_commands() -> None:
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0
    for command in ("init", "version", "demo"):
        assert command in result.output


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(build_app(), ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"eshop {version('eshop')}"


def test_init_creates_a_sqlite_shop(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    result = CliRunner().invoke(build_app(), ["init", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    assert db.exists()
    assert (tmp_path / "shop.db.keys").exists()
    assert "shop ready" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "--db", "oracle://x"], "no storage backend for scheme 'oracle'"),
        (["init", "--db", "not-a-url"], "invalid url"),
    ],
)
def test_user_mistakes_print_one_line_and_no_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    result = _eshop(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = _eshop("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_demo_runs_on_a_fresh_sqlite_file_and_shows_the_shop(tmp_path: Path) -> None:
    result = _eshop("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "backend: sql" in out
    assert "finds: ['Hardcover notebook']" in out
    assert "refused: insufficient stock" in out
    assert "was changed by someone else" in out
    assert "due Sat 2026-02-14 09:10" in out
    assert "1 timer fired" in out
    assert "audit log (GOV-05)" in out
    assert "sqlite+pysqlite:///eshop-demo.db" in out  # the storage table: where the shop lives
    assert "active key k" in out
    assert "policy v1: confirm orders within 1 h, list new goods within 3 days" in out
    assert "has not passed its quality check" in out  # CAT-07 gate before review
    assert "listed: tmall live as TM-1001, jd live as JD-77 (isbn 9780306406157)" in out
    assert "price now ¥69.00; channels to push: ['tmall', 'jd']" in out
    assert "purchase order partially_received: accepted 58 of 60, 2 returned" in out  # INV-06
    assert "low stock: BK-WC-3 in SH-01 has 5 available, below 10; suggest ordering 3" in out  # INV-03
    assert "refused (warehouse staff do not approve variances)" in out  # INV-02
    assert "BK-WC-3 in SH-01: on hand 57, reserved 53, available 4" in out  # INV-01
    # ORD-02: a buyer note asking for a change holds the order
    assert "TM-2002: created -> held  (buyer_note: the buyer note asks for a change ('改地址'))" in out
    assert "delivered again: ['unchanged', 'unchanged', 'unchanged']" in out  # ORD-01
    assert "refused: chen.gang lacks permission order.confirm" in out
    assert "overdue ['TM-2002']; reminded to pay ['TM-2003']" in out  # ORD-03, ORD-07
    assert "TM-2002 confirmed by wu.hua, late=True" in out
    assert "TM-2004 wants 10: short, 2 reserved" in out  # ORD-04
    flat = " ".join(out.split())  # the terminal may wrap long lines
    assert (
        "packing check refused: invalid packed: 2 of BK-WC-3 packed, but the shipment takes 1" in flat
    )  # ORD-05
    assert (
        "TM-2002 shipped with SF SF140020020001: https://www.sf-express.com/track?no=SF140020020001" in flat
    )
    assert "three days later: [('delay', 'SF140020020001')] opened" in flat  # LOG-03
    assert (
        "freight bill reconciled: amount SF140020020001 (billed 14.00 CNY, quoted 12.00 CNY)" in flat
    )  # LOG-02
    assert "-> modified -> shipped -> delivered" in flat  # ORD-06, ORD-08
    assert (
        "done: {'listings_published': 2, 'stock_on_hand': 57, 'low_stock_suggestions': 1, 'orders': 4, "
        "'orders_late': 1, 'shipments': 1, 'freight_differences': 1, 'records': 3, 'audit_entries': 68, "
        "'events_delivered': 68, 'timers_fired': 1}" in flat
    )
    assert (tmp_path / "eshop-demo.db").exists()
    # a second run starts fresh again
    again = _eshop("demo", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "'records': 3, 'audit_entries': 68" in " ".join(again.stdout.split())

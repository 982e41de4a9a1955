"""`supplymesh demo`, the main job, run as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_demo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "supplymesh", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_demo_runs_a_whole_trade_and_exits_zero(tmp_path: Path) -> None:
    """Subscribe, search, select, init, confirm, accept, start, complete: both sides Completed."""
    result = run_demo("--dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for action in (
        "search",
        "on_search",
        "select",
        "on_select",
        "init",
        "on_init",
        "confirm",
        "on_confirm",
        "on_status",
    ):
        assert f" {action} " in out, action
    assert out.count("on_status") == 3
    assert "maker's order state" in out
    assert out.count("Completed") >= 2
    assert "Traceback" not in out + result.stderr
    assert (tmp_path / "demo" / "maker" / "node.sqlite").exists()
    assert (tmp_path / "demo" / "registry.sqlite").exists()


def test_the_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    """It never writes into someone's files."""
    (tmp_path / "precious.txt").write_text("keep me")
    result = run_demo("--dir", str(tmp_path))
    assert result.returncode == 2
    assert "not empty" in result.stdout
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_the_chain_demo_plans_through_four_nodes_and_carries_a_delay_back_up(
    tmp_path: Path,
) -> None:
    """--scenario chain: a promise from the chain's plans and a carrier, POs placed and the
    carrier booked, a timber delay moves it, then every stage up to delivery reaches the shop."""
    result = run_demo("--scenario", "chain", "--dir", str(tmp_path / "chain"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "promise date" in out
    assert "buys 20 x timber from timber.demo: confirmed" in out
    assert "river flooded" in out
    assert "buys 10 x kit from hardware.demo: confirmed" in out
    assert "pkgs via lsp.demo: booked" in out
    assert "scheduled → in-production → ready → shipped → delivered" in out
    assert "Traceback" not in out + result.stderr

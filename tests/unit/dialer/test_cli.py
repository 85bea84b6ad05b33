"""``hotline dialer simulate``: one grid cell from the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hotline.cli import main


@pytest.mark.parametrize("mode", ["predictive", "progressive", "vicidial-adaptive"])
def test_simulate_prints_the_figures_as_json(mode: str) -> None:
    result = CliRunner().invoke(
        main,
        [
            "dialer", "simulate", "--agents", "5", "--answer-rate", "0.3", "--minutes", "10",
            "--mode", mode, "--seed", "1", "--talk-seconds", "90", "--wrap-seconds", "10",
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["mode"] == mode
    for name in ("abandon_rate", "occupancy"):
        assert isinstance(figures[name], float)
        assert 0.0 <= figures[name] <= 1.0
    assert figures["contacts_per_agent_hour"] > 0
    assert figures["scenario"]["talk_seconds"] == 90.0
    assert figures["scenario"]["agents"] == 5
    assert figures["answered"] == figures["connected"] + figures["abandoned"]


def test_simulate_without_json_prints_a_summary() -> None:
    result = CliRunner().invoke(main, ["dialer", "simulate", "--agents", "3", "--minutes", "5"])
    assert result.exit_code == 0, result.output
    assert "abandon rate" in result.output
    assert "occupancy" in result.output


def test_simulate_refuses_an_unknown_mode_and_impossible_settings() -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["dialer", "simulate", "--mode", "preview"])
    assert unknown.exit_code == 2
    impossible = runner.invoke(main, ["dialer", "simulate", "--ring-seconds", "40"])
    assert impossible.exit_code == 2
    assert "timeout" in impossible.output

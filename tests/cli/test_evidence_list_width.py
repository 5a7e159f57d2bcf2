"""`ldn evidence list` at 80 columns: nothing is cut off with an ellipsis, no line is wider."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app


def test_evidence_list_fits_80_columns_without_cutting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["evidence", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.output
    assert "bruun-2024" in result.output

"""The docs keep up with the code: the CLI reference is generated and must be current."""

from __future__ import annotations

from pathlib import Path

from ldn_outcomes.cli.reference import render_reference

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    page = ROOT / "docs" / "cli.md"
    assert page.read_text() == render_reference(), (
        "docs/cli.md is stale: run `.venv/bin/python -m ldn_outcomes.cli.reference > docs/cli.md`"
    )


def test_every_command_has_help() -> None:
    reference = render_reference()
    blocks = reference.split("\n#")[1:]
    undocumented = [b.splitlines()[0] for b in blocks if len(b.strip().splitlines()) < 2]
    assert not undocumented, f"commands without help text: {undocumented}"


def test_readme_names_every_top_level_command() -> None:
    import typer.main

    from ldn_outcomes.cli.main import app

    readme = (ROOT / "README.md").read_text()
    names = sorted(typer.main.get_group(app).all_commands())
    missing = [name for name in names if f"ldn {name}" not in readme]
    assert not missing, f"README does not mention: {missing}"


def test_every_capability_page_exists() -> None:
    for page in ("architecture.md", "registry.md", "cli.md"):
        assert (ROOT / "docs" / page).exists(), page

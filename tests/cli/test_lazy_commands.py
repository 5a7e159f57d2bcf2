"""``ldn`` imports a command's module only when that command runs; the list of commands in
``ldn --help`` must read exactly as it would with every command built."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from ldn_outcomes.cli.lazy import LazyGroup
from ldn_outcomes.cli.main import LdnGroup, app

runner = CliRunner()


def rendered_help(group: LazyGroup, capsys: pytest.CaptureFixture[str]) -> str:
    ctx = typer.Context(group, info_name="ldn")
    capsys.readouterr()
    group.get_help(ctx)
    return capsys.readouterr().out


def test_listed_help_is_each_commands_own(capsys: pytest.CaptureFixture[str]) -> None:
    group = typer.main.get_group(app)
    assert isinstance(group, LdnGroup)
    listed = rendered_help(group, capsys)
    built = group.all_commands()  # every command built as Typer builds it, kept by the group
    assert sorted(built) == sorted({*LdnGroup.lazy_commands, *LdnGroup.lazy_groups})
    assert all(not isinstance(c, typer.core.TyperCommand) or c.callback for c in built.values())
    assert rendered_help(group, capsys) == listed
    for name in built:
        assert f" {name} " in listed


def test_each_lazy_help_is_the_first_paragraph_of_the_real_help() -> None:
    group = typer.main.get_group(app)
    for name, command in group.all_commands().items():
        lazy = group.lazy_commands.get(name) or group.lazy_groups[name]
        assert (command.help or "").split("\n\n")[0].strip() == lazy.help, name


def test_a_mistyped_command_still_gets_a_suggestion() -> None:
    result = runner.invoke(app, ["paitent"])
    assert result.exit_code == 2
    assert "Did you mean 'patient'?" in result.output


def test_help_renderer_stand_ins_hand_over_to_the_real_classes() -> None:
    script = (
        "import rich.text\n"
        "from ldn_outcomes.cli.lazy import import_help_renderer\n"
        "import_help_renderer()\n"
        "import sys, typer.rich_utils as u\n"
        "assert 'rich.markdown' not in sys.modules and 'rich.traceback' not in sys.modules\n"
        "import rich.markdown\n"
        "assert rich.markdown.Markdown.__module__ == 'rich.markdown'\n"
        "assert isinstance(u.Markdown('*x*'), rich.markdown.Markdown)\n"
        "import rich.traceback\n"
        "assert u.Traceback.from_exception is not None\n"
        "text = u._make_rich_text(text='*x*', markup_mode='markdown')\n"
        "assert isinstance(text, rich.markdown.Markdown)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)

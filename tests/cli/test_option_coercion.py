"""``cli/option_values.py`` coerces plain ``str`` and ``bool`` option values as Typer's own
Pydantic validators do, on the installed Typer, and is in use once ``ldn`` is built."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
import typer
import typer.main
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.testing import CliRunner

from ldn_outcomes.cli import option_values
from ldn_outcomes.cli.main import app as ldn_app

probe = typer.Typer()


@probe.command()
def command(
    text: Annotated[str, typer.Option()] = "x",
    maybe: Annotated[str | None, typer.Option()] = None,
    flag: Annotated[bool, typer.Option("--flag/--no-flag")] = False,
    number: Annotated[int, typer.Option()] = 1,
    parsed: Annotated[str, typer.Option(parser=str.upper)] = "x",
) -> None:
    """A probe."""


def _params() -> tuple[typer.Context, dict[str, Any]]:
    click_command = typer.main.get_command(probe)
    ctx = typer.Context(click_command)
    return ctx, {p.name: p for p in click_command.params}


def _outcome(runtime: Any, value: Any, param: Any, ctx: typer.Context) -> Any:
    try:
        result = runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as error:
        return ("refused", error.format_message())
    return ("coerced", type(result), result)


VALUES = {
    "text": ["", "plain", " spaced ", "ünïcode ✓", "[bold]", b"bytes", 3, None],
    "maybe": ["", "sqlite:///x.sqlite3", b"\xff\xfe", None],
    "flag": [True, False, "yes", "0", "off", "", "nope", 1, None],
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_plain_values_coerce_as_typers_own_validator(name: str) -> None:
    ctx, params = _params()
    param = params[name]
    for value in VALUES[name]:
        ours = option_values.runtime_param(param.type_descriptor)
        assert isinstance(ours, option_values.PlainValue)
        theirs = build_runtime_param(param.type_descriptor)
        param._runtime_param = None
        assert _outcome(ours, value, param, ctx) == _outcome(theirs, value, param, ctx), value


def test_other_options_keep_typers_own_coercion() -> None:
    _, params = _params()
    for name in ("number", "parsed"):
        runtime = option_values.runtime_param(params[name].type_descriptor)
        assert not isinstance(runtime, option_values.PlainValue), name


def test_ldn_uses_it() -> None:
    typer.main.get_command(ldn_app)
    assert option_values.installed()


def test_a_probe_command_still_validates_its_options() -> None:
    typer.main.get_command(ldn_app)  # installed
    runner = CliRunner()
    assert runner.invoke(probe, ["--text", "a", "--flag", "--number", "2"]).exit_code == 0
    refused = runner.invoke(probe, ["--number", "two"])
    assert refused.exit_code == 2
    assert "--number" in refused.output

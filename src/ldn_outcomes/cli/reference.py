"""Generate the CLI reference (docs/cli.md) from the Typer app itself, so it cannot drift."""

from __future__ import annotations

import sys
from typing import Any

import typer.main

from .lazy import LazyGroup


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    if hasattr(command, "commands"):
        commands = command.all_commands() if isinstance(command, LazyGroup) else command.commands
        for name in sorted(commands):
            found.extend(_walk(commands[name], [*path, name]))
    return found


def _option_line(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"- `{param.name.upper()}` (argument){_help(param)}"
    names = ", ".join(f"`{n}`" for n in param.opts)
    return f"- {names}{_help(param)}"


def _help(param: Any) -> str:
    text = (getattr(param, "help", None) or "").strip()
    return f": {text}" if text else ""


def render_reference() -> str:
    from .main import app

    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the `ldn` command itself by `python -m ldn_outcomes.cli.reference`;",
        "a test fails when this page and the command disagree.",
        "",
    ]
    for path, command in _walk(root, ["ldn"]):
        if command.hidden:
            continue
        lines.append(f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`")
        lines.append("")
        summary = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        if summary:
            lines.extend([summary, ""])
        params = [p for p in command.params if p.name not in ("help",)]
        params = [p for p in params if not getattr(p, "hidden", False)]
        if params and not hasattr(command, "commands"):
            lines.extend(_option_line(p) for p in params)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_reference())

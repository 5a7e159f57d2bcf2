"""Typer's coercion of plain ``str`` and ``bool`` option values, without Pydantic.

Why this exists: before a command runs, Typer builds a Pydantic ``TypeAdapter`` for each of
its parameters (``--help`` included) whose value is not already a flag's ``True`` or
``False``: it imports Pydantic and builds the validators, about 90 ms or eight bare Python
starts (``ldn patient list`` took 200 ms with them, 110 ms without), even where each value is
already the text it is declared as and the validator hands it back unchanged.
:class:`PlainValue` hands such a value back at once; any other value (bytes, a number, a text
given for a flag) goes to the validator Typer would have built, built then (``None`` never
reaches either). ``tests/cli/test_option_coercion.py`` holds the two equal on the installed
Typer and checks that this is in use.

It relies on Typer's coercion layer (``typer._coercion``, ``_TyperParameter
.get_runtime_param``); without it the import fails or :func:`install` changes nothing, and
Typer coerces as it always does.
"""

from __future__ import annotations

from typing import Any

from typer import core as typer_core
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param


class PlainValue(RuntimeParam):
    """A ``str`` option's text or a ``bool`` option's flag, passed through as Typer's own
    validator passes it; anything else coerced by that validator."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is self.annotation:
            return value
        real = build_runtime_param(param.type_descriptor)
        param._runtime_param = real  # later values go straight to Typer's own
        return real._coerce_value(value, param=param, ctx=ctx)


def runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
    """:class:`PlainValue` for a plain ``str`` or ``bool`` parameter, else Typer's own."""
    info = descriptor.parameter_info
    plain = descriptor.annotation is str or descriptor.annotation is bool
    if plain and descriptor.file_annotation is None and info.parser is None:
        return PlainValue(parameter_info=info, annotation=descriptor.annotation)
    return build_runtime_param(descriptor)


def _get_runtime_param(self: Any) -> RuntimeParam:
    if self._runtime_param is None:
        self._runtime_param = runtime_param(self.type_descriptor)
    return self._runtime_param


def install() -> None:
    """Have Typer's parameters build their coercion with :func:`runtime_param`, once a
    pass-through built here has answered as it should: a Typer whose internals changed in
    any way this does not expect is left as it is, never broken."""
    parameter = getattr(typer_core, "_TyperParameter", None)
    if parameter is None or not hasattr(parameter, "get_runtime_param"):
        return
    try:
        works = _probe()
    except Exception:  # noqa: BLE001 - any surprise means: do not patch
        works = False
    if works:
        parameter.get_runtime_param = _get_runtime_param


def _probe() -> bool:
    """A plain text option and a flag, built and coerced as Typer would, through this."""
    import typer

    def command(name: str = typer.Option("x"), loud: bool = typer.Option(False)) -> None:
        """Probe."""

    group = typer.Typer()
    group.command()(command)
    click_command = typer.main.get_command(group)
    by_name = {p.name: p for p in click_command.params}
    checks = (("name", "text"), ("loud", True))
    for name, value in checks:
        param = by_name[name]
        runtime = runtime_param(param.type_descriptor)  # type: ignore[attr-defined]
        if not isinstance(runtime, PlainValue):
            return False
        if runtime._coerce_value(value, param=param, ctx=None) != value:
            return False
    return True


def installed() -> bool:
    """Whether Typer's parameters use :func:`runtime_param` (for the tests)."""
    parameter = getattr(typer_core, "_TyperParameter", None)
    return getattr(parameter, "get_runtime_param", None) is _get_runtime_param

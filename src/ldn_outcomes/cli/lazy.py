"""A command group that imports a sub-command's module only when that command runs.

Building every command at start-up imports every command module (and Typer inspects every
signature), which is most of what ``ldn --help`` used to cost. The group instead keeps, for
each lazy command, where it lives and the one-line help that ``ldn --help`` lists; the module
is imported when the command is run or its own help is asked for.
``tests/cli/test_lazy_commands.py`` checks that the listed help is the command's own.

The group also spares a command's start Typer's per-option Pydantic validators where the
option's value needs none (:mod:`.option_values`).
"""

from __future__ import annotations

import importlib
import sys
import types
from difflib import get_close_matches
from typing import Any, ClassVar, NamedTuple

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

# Typer's vendored Click: the types its groups and commands are built on.
Context = Any
ClickCommand = Any


class Lazy(NamedTuple):
    """Where a command lives (a module of this package and its attribute: a function or a
    ``typer.Typer``) and the first paragraph of its help, as ``ldn --help`` lists it."""

    module: str
    attribute: str
    help: str


class _Deferred(type):
    """A stand-in class whose use (a call, or a class attribute such as ``from_exception``)
    imports the real class it stands for and hands over to it."""

    _real: tuple[str, str]

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls.real(), name)

    def real(cls) -> Any:
        module, attribute = cls._real
        return getattr(importlib.import_module(module), attribute)


# Typer's help renderer imports these at its top for two things ``ldn`` does not do: Markdown
# help text (markdown-it; ``ldn`` uses Rich markup) and pretty tracebacks (Pygments; off).
_DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def import_help_renderer() -> None:
    """Import ``typer.rich_utils`` with stand-ins for ``rich.markdown.Markdown`` and
    ``rich.traceback.Traceback`` that import the real ones only if used: about half the cost
    of rendering ``ldn --help``. The stand-in modules are removed at once, so any later
    ``import rich.markdown`` gets the real module."""
    if "typer.rich_utils" in sys.modules:
        return
    placed: dict[str, types.ModuleType] = {}
    for name, attribute in _DEFERRED.items():
        if name not in sys.modules:
            stand_in = types.ModuleType(name)
            setattr(stand_in, attribute, _Deferred(attribute, (), {"_real": (name, attribute)}))
            placed[name] = sys.modules[name] = stand_in
    try:
        importlib.import_module("typer.rich_utils")
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def defer_option_adapters() -> None:
    """Spare a start Typer's Pydantic validators for options whose values need none (see
    :mod:`.option_values`); a Typer without them is left as it is."""
    try:
        from .option_values import install
    except ImportError:
        return
    install()


def _no_callback() -> None:
    """Makes the holder below a group, so that Typer keeps the command's own name."""


class LazyGroup(TyperGroup):
    """A Typer group whose ``lazy_commands`` (listed before its own commands, as Typer lists
    commands) and ``lazy_groups`` (listed after them) are built on first use."""

    lazy_commands: ClassVar[dict[str, Lazy]] = {}
    lazy_groups: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        defer_option_adapters()
        self._loaded: dict[str, ClickCommand] = {}
        self._listing = False

    def _lazy(self, name: str) -> Lazy | None:
        return self.lazy_commands.get(name) or self.lazy_groups.get(name)

    def list_commands(self, ctx: Context) -> list[str]:
        return [*self.lazy_commands, *super().list_commands(ctx), *self.lazy_groups]

    def get_command(self, ctx: Context, cmd_name: str) -> ClickCommand | None:
        lazy = self._lazy(cmd_name)
        if lazy is None:
            return super().get_command(ctx, cmd_name)
        if cmd_name in self._loaded:
            return self._loaded[cmd_name]
        if self._listing:  # listing the commands needs only their names and one-line help
            return TyperCommand(name=cmd_name, help=lazy.help, callback=None)
        command = self.load(cmd_name)
        self._loaded[cmd_name] = command
        return command

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            # Typer suggests close names from the built commands only; offer the lazy ones too.
            if self.suggest_commands and args and "Did you mean" not in error.message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    suggestions = ", ".join(f"{match!r}" for match in matches)
                    error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def load(self, name: str) -> ClickCommand:
        """Import the command's module and build the command as Typer builds it eagerly."""
        lazy = self._lazy(name)
        if lazy is None:
            raise KeyError(name)
        module = importlib.import_module(f"{__package__}.{lazy.module}")
        target = getattr(module, lazy.attribute)
        holder = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        holder.callback()(_no_callback)
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=name)
        else:
            holder.command(name)(target)
        return typer.main.get_group(holder).commands[name]

    def all_commands(self) -> dict[str, ClickCommand]:
        """Every command by name, each built (for the CLI reference and its checks)."""
        return {name: self.get_command(None, name) for name in self.list_commands(None)}

    def format_help(self, ctx: Context, formatter: Any) -> None:
        import_help_renderer()
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

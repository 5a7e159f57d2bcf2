"""``ldn --help`` starts without the analysis stack, and ``ldn patient list`` on a SQLite
registry without SQLAlchemy or the record models, so both answer at once.

Timing is left to ``bench/bench_startup.py``; what keeps it fast is which modules a start
imports, and that is checked here, in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "httpx",
    "jinja2",
)


def run_probe(argv: list[str], prelude: str = "") -> tuple[set[str], str]:
    """Run ``ldn *argv`` in a new interpreter after the Python lines ``prelude``; return the
    top-level packages it imported (and the modules of ``ldn_outcomes`` and of Typer by their
    full names) and what it printed."""
    script = (
        "import json, os, sys\n" + prelude + "from ldn_outcomes.cli.main import app\n"
        f"sys.argv = ['ldn', *{list(argv)!r}]\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = {n.split('.')[0] for n in sys.modules}\n"
        "names |= {n for n in sys.modules if n.startswith(('ldn_outcomes.', 'typer.'))}\n"
        "print(json.dumps(sorted(names)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1])), done.stdout


def imported_after(*argv: str) -> set[str]:
    """The packages imported by running ``ldn *argv`` in a new interpreter (``run_probe``)."""
    return run_probe(list(argv))[0]


def test_help_imports_no_analysis_store_or_web_stack() -> None:
    loaded = imported_after("--help")
    assert "typer" in loaded  # the probe sees imports at all
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    # Nor what Typer's help renderer loads for Markdown help and pretty tracebacks, unused here.
    assert loaded.isdisjoint({"markdown_it", "pygments"}), sorted(loaded)
    # Nor the record models: the help reads the kind names and the n-of-1 defaults from
    # modules without models (a command's own help imports pydantic through Typer itself).
    assert "pydantic" not in loaded


def test_help_imports_no_command_module() -> None:
    loaded = imported_after("--help")
    commands = {name for name in loaded if name.endswith("_cmd")}
    assert not commands, sorted(commands)
    assert "ldn_outcomes.cli.patient_cmd" in imported_after("patient", "--help")


def test_a_command_help_imports_no_analysis_stack() -> None:
    loaded = imported_after("analyze", "--help")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def _initialised(tmp_path) -> str:
    db = f"sqlite:///{tmp_path / 'startup.sqlite3'}"
    subprocess.run(
        [sys.executable, "-c", "from ldn_outcomes.cli.main import app; app()", "init", "--db", db],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return db


def test_patient_list_on_sqlite_imports_no_sqlalchemy_or_record_models(tmp_path) -> None:
    """The list is read with ``sqlite3`` (``store/plain_sqlite.py``), Typer's option
    validators are not built for plain values (``cli/option_values.py``), and only the
    verb that runs is built."""
    loaded = imported_after("patient", "list", "--db", _initialised(tmp_path))
    assert "ldn_outcomes.store.plain_sqlite" in loaded  # it did read the registry
    assert "sqlite3" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "pydantic" not in loaded  # neither the record models nor Typer's validators
    assert "typer._adapters" not in loaded
    store = {name for name in loaded if name.startswith("ldn_outcomes.store.")}
    assert store == {
        "ldn_outcomes.store.live",
        "ldn_outcomes.store.plain_sqlite",
        "ldn_outcomes.store.revisions",
    }, sorted(store)
    assert not {n for n in loaded if n.startswith(("ldn_outcomes.reports", "ldn_outcomes.web"))}
    assert "ldn_outcomes.domain.models" not in loaded
    assert "typer.rich_utils" not in loaded  # no help is rendered


def test_patient_list_elsewhere_imports_no_analysis_stack(tmp_path) -> None:
    """A URL the plain read leaves alone is read through SQLAlchemy, still without the
    analysis stack or Alembic (the schema check reads the version table and the migration
    files itself)."""
    db = _initialised(tmp_path) + "?timeout=5"  # a query: left to SQLAlchemy
    loaded = imported_after("patient", "list", "--db", db)
    assert "sqlalchemy" in loaded  # it did read the registry
    analysis = {"pandas", "numpy", "scipy", "statsmodels", "lifelines", "fastapi", "alembic"}
    assert loaded.isdisjoint(analysis), sorted(loaded & analysis)


def test_patient_list_without_db_or_settings_builds_no_settings(tmp_path) -> None:
    """With no ``--db`` and no ``LDN_*`` variable the URL is the default file
    (``default_paths``), found without pydantic-settings; a variable set reads the settings."""
    (tmp_path / "data").mkdir()
    db = f"sqlite:///{tmp_path / 'data' / 'ldn.sqlite3'}"
    subprocess.run(
        [sys.executable, "-c", "from ldn_outcomes.cli.main import app; app()", "init", "--db", db],
        capture_output=True,
        check=True,
        timeout=120,
    )
    prelude = (
        f"os.chdir({str(tmp_path)!r})\n"
        "for name in [n for n in os.environ if n.upper().startswith('LDN_')]:\n"
        "    del os.environ[name]\n"
    )
    loaded, printed = run_probe(["patient", "list", "--json"], prelude)
    assert printed.strip() == "[]"  # it read the default file: an empty registry
    assert "pydantic_settings" not in loaded and "pydantic" not in loaded, sorted(loaded)


def test_the_default_url_is_the_settings_own(monkeypatch, tmp_path) -> None:
    from ldn_outcomes.cli.common import database_url
    from ldn_outcomes.settings import load_settings

    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.upper().startswith("LDN_")]:
        monkeypatch.delenv(name)
    assert database_url(None) == load_settings().resolved_database_url
    monkeypatch.setenv("LDN_DATABASE_URL", "postgresql://u@h/db")
    assert database_url(None) == "postgresql://u@h/db"

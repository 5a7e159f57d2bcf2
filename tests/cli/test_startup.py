"""``ldn --help`` starts without the analysis stack, so the command answers at once.

Timing is left to ``bench/bench_startup.py``; what keeps it fast is which modules a start
imports, and that is checked here, in a fresh interpreter.
"""

from __future__ import annotations

import json
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


def imported_after(*argv: str) -> set[str]:
    """The top-level packages imported by running ``ldn *argv`` in a new interpreter."""
    script = (
        "import json, sys\n"
        "from ldn_outcomes.cli.main import app\n"
        f"sys.argv = ['ldn', *{list(argv)!r}]\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_analysis_store_or_web_stack() -> None:
    loaded = imported_after("--help")
    assert "typer" in loaded  # the probe sees imports at all
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    # Nor the record models: the help reads the kind names and the n-of-1 defaults from
    # modules without models (a command's own help imports pydantic through Typer itself).
    assert "pydantic" not in loaded


def test_a_command_help_imports_no_analysis_stack() -> None:
    loaded = imported_after("analyze", "--help")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_patient_list_imports_no_analysis_stack(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'startup.sqlite3'}"
    subprocess.run(
        [sys.executable, "-c", "from ldn_outcomes.cli.main import app; app()", "init", "--db", db],
        capture_output=True,
        check=True,
        timeout=120,
    )
    loaded = imported_after("patient", "list", "--db", db)
    assert "sqlalchemy" in loaded  # it did read the registry
    # nor Alembic: the schema check reads the version table and the migration files itself
    analysis = {"pandas", "numpy", "scipy", "statsmodels", "lifelines", "fastapi", "alembic"}
    assert loaded.isdisjoint(analysis), sorted(loaded & analysis)

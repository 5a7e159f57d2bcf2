"""Where SQL may live: only the store talks to the database; the layers above pass an
``Engine`` through and call the store's repositories and reads."""

from __future__ import annotations

import grimp
import pytest

#: What any module may import from SQLAlchemy: the engine handle, to pass it on to the store.
PASS_THROUGH = "from sqlalchemy import Engine"
#: Other SQLAlchemy imports outside the store, each with why it stays.
JUSTIFIED = {
    # The forked analysis read opens a second connection only when the pool can give one; it
    # tells by the pool class of the engine it was handed.
    "ldn_outcomes.analysis.data.load": {
        "from sqlalchemy.pool import SingletonThreadPool, StaticPool"
    },
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("ldn_outcomes", include_external_packages=True)


def _outside_store(module: str) -> bool:
    return not (module == "ldn_outcomes.store" or module.startswith("ldn_outcomes.store."))


def test_only_the_store_imports_sqlalchemy(graph: grimp.ImportGraph) -> None:
    unexpected = {}
    for module in sorted(graph.find_modules_that_directly_import("sqlalchemy")):
        if not _outside_store(module):
            continue
        lines = {
            detail["line_contents"]
            for detail in graph.get_import_details(importer=module, imported="sqlalchemy")
        }
        extra = lines - {PASS_THROUGH} - JUSTIFIED.get(module, set())
        if extra:
            unexpected[module] = sorted(extra)
    assert not unexpected, (
        "SQL belongs in ldn_outcomes.store (a repository function or typed read); "
        f"these modules import more of SQLAlchemy than the Engine they pass on: {unexpected}"
    )


def test_the_justified_exceptions_are_still_needed(graph: grimp.ImportGraph) -> None:
    """An exception that no longer matches an import is removed from the list."""
    for module, lines in JUSTIFIED.items():
        found = {
            detail["line_contents"]
            for detail in graph.get_import_details(importer=module, imported="sqlalchemy")
        }
        assert lines <= found, f"{module} no longer imports {sorted(lines - found)}"

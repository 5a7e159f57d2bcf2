"""A unit of work: one transaction that rolls back unless committed, plus the audit trail.

Every create, update and delete goes through :class:`Registry`, which writes the record and its
audit row in the same transaction; leaving the ``with`` block without ``commit()`` (or with an
exception) undoes both.
"""

from __future__ import annotations

import weakref
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .registry import Registry

_FACTORIES: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def _factory_for(engine: Engine) -> sessionmaker[Session]:
    """One session factory per engine: building one per write costs measurable time."""
    factory = _FACTORIES.get(engine)
    if factory is None:
        factory = _FACTORIES[engine] = sessionmaker(bind=engine, expire_on_commit=False)
    return factory


class UnitOfWork:
    def __init__(self, engine: Engine, actor: str = "system") -> None:
        self._factory = _factory_for(engine)
        self.actor = actor
        self.session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.session.begin()
        self.registry = Registry(self.session, self.actor)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.session is not None
        try:
            if self.session.in_transaction():
                self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()

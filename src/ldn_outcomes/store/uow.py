"""A unit of work: one transaction that rolls back unless committed, plus the audit trail.

Every create, update and delete of a registry record goes through :class:`Registry`, which
writes the record and its audit row in the same transaction; the registry mirror's records and
change log go through :class:`EvidenceMirror`. Leaving the ``with`` block without ``commit()``
(or with an exception) undoes everything written in it.
"""

from __future__ import annotations

import weakref
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .registry import Registry

if TYPE_CHECKING:
    from .evidence_repo import EvidenceMirror

#: What a failed database write raises (SQLAlchemy's base error), for callers that record the
#: failure of one item and go on with the next without importing SQLAlchemy themselves.
DatabaseError = SQLAlchemyError

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
        self._evidence: EvidenceMirror | None = None
        return self

    @property
    def evidence(self) -> EvidenceMirror:
        """The registry mirror's records and change log, in this transaction. Built on first
        use: its models are imported then, so that reading patients does without them."""
        if self._evidence is None:
            from .evidence_repo import EvidenceMirror

            assert self.session is not None
            self._evidence = EvidenceMirror(self.session)
        return self._evidence

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

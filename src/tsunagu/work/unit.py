"""The unit of work every staff action runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.work.errors import Refused


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction that also commits when the policy refused: the refusal's audit entry (the only
    thing written before the service refused) must stay on record."""
    session = factory()
    try:
        yield session
        session.commit()
    except Refused:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

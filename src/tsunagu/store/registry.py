"""Every module that declares hub tables, imported together so the metadata is complete.

Alembic's environment and the schema tests import this; each package that owns hub tables
(privacy, link, screen, work) adds its models module here.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from tsunagu.store.models import Base

MODEL_MODULES: tuple[str, ...] = (
    "tsunagu.store.models",
    "tsunagu.privacy.models",
    "tsunagu.link.models",
    "tsunagu.link.searchkeys",
    "tsunagu.screen.runs.models",
    "tsunagu.work.models",
    "tsunagu.work.cases.models",
    "tsunagu.work.rights.models",
    "tsunagu.handover.models",
    "tsunagu.work.urgency.models",
    "tsunagu.outreach.models",
    "tsunagu.work.family.models",
    "tsunagu.work.voice.models",
    "tsunagu.work.ranking.models",
)


def hub_metadata() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata

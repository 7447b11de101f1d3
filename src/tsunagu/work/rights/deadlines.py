"""Statutory periods for deciding a family's request, loaded from ``deadlines.yaml``.

The days and the articles that set them are data, so that a municipality whose ordinance sets
shorter periods changes a file, not the code, and every due date shown can cite its article.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from tsunagu.yamlstrict import load_model

KINDS = ("disclosure", "correction", "suspension", "deletion")


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    days: Annotated[int, Field(ge=1, le=365)]
    article: str = Field(min_length=1)
    extension_days: Annotated[int, Field(ge=0, le=365)]
    extension_article: str = Field(min_length=1)


class Periods(RootModel[dict[str, Period]]):
    @model_validator(mode="after")
    def _every_kind(self) -> Periods:
        missing = [k for k in KINDS if k not in self.root]
        unknown = [k for k in self.root if k not in KINDS]
        if missing or unknown:
            raise ValueError(f"kinds must be exactly {', '.join(KINDS)} (missing {missing}, unknown {unknown})")
        return self

    def of(self, kind: str) -> Period:
        return self.root[kind]


def packaged_path() -> Path:
    return Path(str(resources.files("tsunagu.work.rights") / "deadlines.yaml"))


@lru_cache(maxsize=1)
def default_periods() -> Periods:
    return load_model(packaged_path(), Periods)


def due_on(received_on: date, kind: str, periods: Periods | None = None) -> date:
    """The last day for the decision: the day of receipt is not counted (民法第140条)."""
    return received_on + timedelta(days=(periods or default_periods()).of(kind).days)


def extended_due_on(due: date, kind: str, periods: Periods | None = None) -> date:
    return due + timedelta(days=(periods or default_periods()).of(kind).extension_days)

"""Hub tables of the linkage: the link index and the human decisions that later runs respect.

Only pseudonymous person ids, source record keys and match evidence are held here; names,
birth dates and addresses stay in the departments' vaults.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class LinkRun(Base):
    """名寄せ実行: one linkage run, with the model it used saved as JSON."""

    __tablename__ = "link_runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mode: Mapped[str] = mapped_column(String(12))  # full / incremental
    model_version: Mapped[str] = mapped_column(String(64))
    model_json: Mapped[str] = mapped_column(Text)
    stats_json: Mapped[str] = mapped_column(Text)
    missing_sources: Mapped[str] = mapped_column(Text, default="[]")


class Person(Base):
    """本人: a pseudonymous person id, stable across runs."""

    __tablename__ = "persons"

    person_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_run: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="active")  # active / merged / retired
    merged_into: Mapped[str | None] = mapped_column(String(20))
    household_id: Mapped[str | None] = mapped_column(String(40))


class PersonLink(Base):
    """One source record belongs to one person, with how we know."""

    __tablename__ = "person_links"
    __table_args__ = (
        UniqueConstraint("source", "local_id", name="uq_person_links_record"),
        Index("ix_person_links_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), ForeignKey("persons.person_id"))
    department: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(60))
    local_id: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(20))  # aza_number / probabilistic / clerical / spine / singleton
    match_probability: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(String(40))


class PersonEvent(Base):
    """A person id was merged or split, and why (its creation is the person row's created_run)."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(12))  # merged / split (creation: persons.created_run)
    person_id: Mapped[str] = mapped_column(String(20))
    other_person_id: Mapped[str | None] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(Text)


class ClericalPair(Base):
    """名寄せ確認: an uncertain pair waiting for (or carrying) a person's decision."""

    __tablename__ = "clerical_pairs"
    __table_args__ = (UniqueConstraint("left_key", "right_key", name="uq_clerical_pairs_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40))
    left_key: Mapped[str] = mapped_column(String(200))  # source:local_id
    right_key: Mapped[str] = mapped_column(String(200))
    match_probability: Mapped[float] = mapped_column(Float)
    comparison_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open / decided / obsolete


class LinkDecision(Base):
    """A person's decision on a record pair; every later run respects it."""

    __tablename__ = "link_decisions"
    __table_args__ = (UniqueConstraint("left_key", "right_key", name="uq_link_decisions_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    left_key: Mapped[str] = mapped_column(String(200))
    right_key: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))  # match / non_match
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)


class HouseholdMember(Base):
    """世帯: who lived with whom, from when (the resident register's view over time)."""

    __tablename__ = "household_members"
    __table_args__ = (Index("ix_household_members_household", "household_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str] = mapped_column(String(20), ForeignKey("persons.person_id"))
    role: Mapped[str] = mapped_column(String(12))  # child / guardian / other
    relationship: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

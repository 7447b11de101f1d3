"""Hub tables of screening runs and their results (derived data, not department rows)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class ScreeningRun(Base):
    """スクリーニング実行: the rule set, linkage model and data snapshots it used, frozen."""

    __tablename__ = "screening_runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rule_set_hash: Mapped[str] = mapped_column(String(64))
    rule_set_json: Mapped[str] = mapped_column(Text)
    link_run_id: Mapped[str | None] = mapped_column(String(40))
    link_model_version: Mapped[str | None] = mapped_column(String(64))
    snapshots_json: Mapped[str] = mapped_column(Text)  # source -> export dates read
    missing_sources: Mapped[str] = mapped_column(Text, default="[]")
    counts_json: Mapped[str] = mapped_column(Text, default="{}")
    children: Mapped[int] = mapped_column(Integer, default=0)
    data_digest: Mapped[str] = mapped_column(String(64), default="")


class ScreeningResult(Base):
    """One child's result in one run, with every reason behind it."""

    __tablename__ = "screening_results"
    __table_args__ = (
        Index("ix_screening_results_run_tier", "run_id", "tier"),
        Index("ix_screening_results_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("screening_runs.run_id"))
    person_id: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(10))
    domains: Mapped[str] = mapped_column(Text)  # JSON list of domain ids
    domain_scores: Mapped[str] = mapped_column(Text)  # JSON {domain: score}
    hard_rules: Mapped[str] = mapped_column(Text)  # JSON list
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of reasons
    benefit_only: Mapped[bool] = mapped_column(Boolean, default=False)
    known_to_support: Mapped[bool] = mapped_column(Boolean, default=False)
    known_by: Mapped[str] = mapped_column(Text, default="[]")
    no_mark: Mapped[bool] = mapped_column(Boolean, default=False)
    first_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    trend: Mapped[str] = mapped_column(String(8))  # worse / better / same / new
    school_code: Mapped[str | None] = mapped_column(String(20))
    grade: Mapped[int | None] = mapped_column(Integer)
    age: Mapped[float | None] = mapped_column(Float)
    stale_reasons: Mapped[int] = mapped_column(Integer, default=0)
    # 掲載枠: in the list the second stage reviews; a child with a tier beyond it keeps the tier.
    # Rows written without it (older runs, hand-made fixtures) are in the list exactly when listed.
    in_list: Mapped[bool] = mapped_column(Boolean, default=lambda ctx: ctx.get_current_parameters()["tier"] != "対象外")
    list_rank: Mapped[int | None] = mapped_column(Integer)

"""Hub tables of the learned ranking: versions (with card and approval), scores per run, review samples."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base

SHADOW, APPROVED, RETIRED = "shadow", "approved", "retired"
STATUS_LABELS = {SHADOW: "試行（データ担当のみ表示）", APPROVED: "承認済み（利用中）", RETIRED: "利用終了"}


class RankingVersion(Base):
    """One trained version: the LightGBM model as its own text format (never a pickle), the
    calibration, the indicator distributions it was trained on (for drift) and its model card."""

    __tablename__ = "ranking_versions"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    features_json: Mapped[str] = mapped_column(Text)
    model_text: Mapped[str] = mapped_column(Text)
    calibration_json: Mapped[str] = mapped_column(Text)
    reference_json: Mapped[str] = mapped_column(Text)
    card_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=SHADOW)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RankingScore(Base):
    """A version's calibrated score for one child in one run, its rank and reasons."""

    __tablename__ = "ranking_scores"
    __table_args__ = (Index("ix_ranking_scores_run_version", "run_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("screening_runs.run_id"))
    version: Mapped[str] = mapped_column(String(40), ForeignKey("ranking_versions.version"))
    person_id: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    proposed: Mapped[bool] = mapped_column(Boolean)  # proposed for 見守り; a person confirms or not
    reasons_json: Mapped[str] = mapped_column(Text)


class ReviewSample(Base):
    """無作為確認枠: an unlisted child drawn for review, with the probability of being drawn."""

    __tablename__ = "review_samples"
    __table_args__ = (Index("ix_review_samples_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("screening_runs.run_id"))
    person_id: Mapped[str] = mapped_column(String(20))
    probability: Mapped[float] = mapped_column(Float)
    drawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""Hub tables of push-type support: eligibility runs, notice waves, letters, opt-outs and outcomes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class OutreachRun(Base):
    """対象要件の判定の実行: the programme definitions and the data it used, frozen."""

    __tablename__ = "outreach_runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    programme_hash: Mapped[str] = mapped_column(String(64))
    programmes_json: Mapped[str] = mapped_column(Text)
    counts_json: Mapped[str] = mapped_column(Text, default="{}")
    unavailable_json: Mapped[str] = mapped_column(Text, default="[]")  # departments whose data did not arrive
    snapshots_json: Mapped[str] = mapped_column(Text, default="{}")
    children: Mapped[int] = mapped_column(Integer, default=0)
    # Rows that did not load, per source and item (outreach.unreadable): what the data could not see.
    unreadable_json: Mapped[str] = mapped_column(Text, default="{}")


class OutreachResult(Base):
    """One person's result for one programme (対象 or 確認できない要件がある), with its conditions."""

    __tablename__ = "outreach_results"
    __table_args__ = (
        Index("ix_outreach_results_run_programme", "run_id", "programme", "gap"),
        Index("ix_outreach_results_household", "household_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("outreach_runs.run_id"))
    programme: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(20))
    household_id: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))  # eligible / undetermined
    receiving: Mapped[bool | None] = mapped_column(Boolean)  # null: no department records receipt
    gap: Mapped[bool] = mapped_column(Boolean, default=False)  # eligible and not receiving
    conditions: Mapped[str] = mapped_column(Text)  # JSON: id, group, held, evidence
    unchecked: Mapped[str] = mapped_column(Text, default="[]")  # JSON: condition ids not checkable
    receipt_on: Mapped[date | None] = mapped_column(Date)


class OutreachWave(Base):
    """案内の発送回: the letters one department made from one run, on one day."""

    __tablename__ = "outreach_waves"

    wave_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("outreach_runs.run_id"))
    department: Mapped[str] = mapped_column(String(40))
    programmes_json: Mapped[str] = mapped_column(Text)
    sent_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    letters: Mapped[int] = mapped_column(Integer, default=0)
    skipped_opt_out: Mapped[int] = mapped_column(Integer, default=0)
    skipped_no_address: Mapped[int] = mapped_column(Integer, default=0)
    languages_json: Mapped[str] = mapped_column(Text, default="{}")
    folder: Mapped[str] = mapped_column(Text, default="")


class OutreachNotice(Base):
    """One household's letter in a wave: the programmes it presents and the children concerned."""

    __tablename__ = "outreach_notices"
    __table_args__ = (Index("ix_outreach_notices_wave", "wave_id"), Index("ix_outreach_notices_household", "household_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[str] = mapped_column(String(40), ForeignKey("outreach_waves.wave_id"))
    notice_no: Mapped[str] = mapped_column(String(40), unique=True)
    household_id: Mapped[str] = mapped_column(String(20))
    person_ids: Mapped[str] = mapped_column(Text)  # JSON list: the children concerned
    programmes: Mapped[str] = mapped_column(Text)  # JSON list of programme ids
    language: Mapped[str] = mapped_column(String(8))
    file: Mapped[str] = mapped_column(String(200))


class OutreachOptOut(Base):
    """案内の停止: the family asked not to be sent notices (all programmes, or one)."""

    __tablename__ = "outreach_opt_outs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(String(20), index=True)
    person_id: Mapped[str] = mapped_column(String(20))
    programme: Mapped[str | None] = mapped_column(String(64))  # null: every programme
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutreachLanguage(Base):
    """The language a family asked to be written to in (recorded by staff; wins over the register)."""

    __tablename__ = "outreach_languages"

    household_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutreachOutcome(Base):
    """Whether a noticed child's family applied or used the service within the window (from a later run)."""

    __tablename__ = "outreach_outcomes"
    __table_args__ = (Index("ix_outreach_outcomes_wave", "wave_id", "programme"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[str] = mapped_column(String(40), ForeignKey("outreach_waves.wave_id"))
    run_id: Mapped[str] = mapped_column(String(40), ForeignKey("outreach_runs.run_id"))
    programme: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(20))
    household_id: Mapped[str] = mapped_column(String(20))
    took_up: Mapped[bool] = mapped_column(Boolean)
    taken_on: Mapped[date | None] = mapped_column(Date)
    in_window: Mapped[bool] = mapped_column(Boolean)

"""ケース概要 and the 実務者会議 agenda as Japanese PDFs, with the embedded IPAex font (work/rights/pdf.py)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tsunagu.work.cases.summary import AgendaRow, CaseSummary
from tsunagu.work.rights.pdf import register_font

JST = ZoneInfo("Asia/Tokyo")
CAUTION = "この資料には要配慮個人情報が含まれます。会議の終了後に回収し、複写・持ち出しをしないでください。"


def _when(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def _day(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day is not None else "未定"


class _Doc:
    def __init__(self, width: float) -> None:
        font = register_font()
        base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
        self.width = width
        self.styles = {
            "title": ParagraphStyle("title", parent=base, fontSize=15, leading=20, spaceAfter=3 * mm),
            "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=4 * mm, spaceAfter=2 * mm,
                                 textColor=colors.HexColor("#1f3a5f")),
            "body": base, "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=11),
            "warn": ParagraphStyle("warn", parent=base, textColor=colors.HexColor("#a40000")),
        }
        self.flow: list[Flowable] = []

    def p(self, text: str, style: str = "body") -> None:
        self.flow.append(Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style]))

    def table(self, header: Sequence[str] | None, rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        if not rows:
            self.p("ありません。")
            return
        cell = self.styles["cell"]
        data = [[Paragraph(escape(h), cell) for h in header]] if header else []
        data += [[Paragraph(escape(v).replace("\n", "<br/>"), cell) for v in r] for r in rows]
        table = Table(data, colWidths=[w / sum(widths) * self.width for w in widths], repeatRows=1 if header else 0)
        # A header row is shaded; a two-column table of facts shades its label column instead.
        shaded = (-1, 0) if header else (0, -1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("BACKGROUND", (0, 0), shaded, colors.HexColor("#eef2f7"))]))
        self.flow.append(table)
        self.flow.append(Spacer(1, 2 * mm))

    def build(self, pagesize: tuple[float, float], title: str) -> bytes:
        out = io.BytesIO()
        SimpleDocTemplate(out, pagesize=pagesize, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                          bottomMargin=15 * mm, title=title).build(self.flow)
        return out.getvalue()


def render_case_summary(s: CaseSummary) -> bytes:
    doc = _Doc(180 * mm)
    doc.p("ケース概要（個別ケース検討会議用）", "title")
    doc.p(CAUTION, "warn")
    who = s.identity
    doc.table(None, [
        ("氏名", f"{who.name}（{who.reading}）" if who.reading else who.name),
        ("生年月日", who.birth_date or "—"),
        ("学年", f"{s.grade}年" if s.grade else "—"),
        ("ケースの状況", s.case.status), ("担当者", s.case.owner_name or "未割当"), ("担当チーム", s.case.team or "—"),
        ("スクリーニング区分", s.tier or "—"),
        ("要対協の登録", f"{s.ledger_category}（主担当機関: {s.ledger_lead}、次回の進行管理: {_day(s.ledger_next)}）"
         if s.ledger_category else "登録なし"),
        ("印刷", f"{_when(s.printed_at)} {s.printed_by}"),
    ], (1, 4))
    doc.p("支援方針・つなぎ", "h2")
    doc.table(["状況", "目標", "担当機関", "つなぎ", "次回見直し"], [
        (p.status_label, p.goals or "", p.responsible_body,
         "\n".join(f"{r.resource_name}: {r.status_label}{'（' + r.outcome_label + '）' if r.outcome_label else ''}"
                   for r in p.referrals) or "—", _day(p.next_review_on))
        for p in s.plans], (1, 4, 2, 3, 1.5))
    doc.p("個別ケース検討会議", "h2")
    for m in s.meetings:
        doc.p(f"{_day(m.held_on)}　次回の見直し: {_day(m.next_review_on)}")
        doc.table(["機関", "出席者", "役割分担"], [(a.agency, a.people, a.role) for a in m.attendees], (2, 2, 4))
        doc.p(f"決定事項: {m.decisions}")
    if not s.meetings:
        doc.p("ありません。")
    doc.p("連絡記録（新しい順、最大20件）", "h2")
    doc.table(["日付", "種別", "対応者", "相手", "内容"], [
        (_day(c.contact_on), c.kind_label, c.staff_name, c.counterpart, c.summary) for c in s.contacts[:20]],
        (1.5, 1.2, 1.2, 1.5, 5))
    doc.p("経過（状況・担当の変更）", "h2")
    doc.table(["日時", "記録者", "内容", "理由"], [
        (_when(e.at), e.actor_name, _event_text(e.kind_label, e.from_status, e.to_status, e.to_owner_name),
         e.reason or "") for e in s.case.history], (1.6, 1.2, 2.5, 3))
    return doc.build(A4, "ケース概要")


def _event_text(kind: str, before: str | None, after: str | None, owner: str) -> str:
    if after:
        return f"{kind}: {before or '未確認'} → {after}"
    if owner:
        return f"{kind}: {owner}"
    return kind


def render_agenda(rows: Sequence[AgendaRow], meeting_on: date, municipality: str, printed_at: datetime) -> bytes:
    doc = _Doc(267 * mm)
    doc.p(f"{municipality}要保護児童対策地域協議会　実務者会議　進行管理の対象（{_day(meeting_on)}開催）", "title")
    doc.p(CAUTION, "warn")
    doc.p(f"{_day(meeting_on)}までに進行管理の確認日が来る登録ケース {len(rows)}件（確認日の早い順。期限切れを先頭に）。"
          f"作成 {_when(printed_at)}")
    doc.table(["", "氏名", "生年月日", "種別", "主担当機関", "ケースの状況", "担当者", "前回の確認", "確認期限", "支援方針"], [
        (str(i), a.identity.name, a.identity.birth_date, a.row.category, a.row.lead_agency, a.row.case_status,
         a.row.owner_name or "未割当", _day(a.row.last_reviewed_on),
         _day(a.row.next_review_on) + ("（期限切れ）" if a.row.overdue else ""), "あり" if a.active_plans else "なし")
        for i, a in enumerate(rows, 1)], (0.5, 2, 1.6, 1.4, 2.2, 1.3, 1.5, 1.7, 2.2, 1))
    doc.p("会議では各ケースの状況・主担当機関・次回の確認日を決め、台帳に記録してください（3か月を超えない日）。")
    return doc.build(landscape(A4), "実務者会議 進行管理の対象")

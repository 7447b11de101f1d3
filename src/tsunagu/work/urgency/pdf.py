"""The intake record (受理記録票) as a Japanese PDF, with the embedded IPAex font (see work/rights/pdf.py).

The record puts the hard rules first and prints the estimate only with its interval and its
wording (a summary of similar past decisions), so a printed copy cannot be read as a score.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tsunagu.work.rights.pdf import register_font
from tsunagu.work.urgency.intake import IntakeView
from tsunagu.work.urgency.items import ItemSet

JST = ZoneInfo("Asia/Tokyo")
EVENT_LABELS = {"safety_check": "安全確認（目視）", "new_information": "新たな情報", "escalation": "期限超過・上席へ"}


def _jst(moment: object) -> str:
    from datetime import datetime

    return moment.astimezone(JST).strftime("%Y年%m月%d日 %H:%M") if isinstance(moment, datetime) else ""


class _Doc:
    def __init__(self, font: str) -> None:
        base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
        self.styles = {
            "title": ParagraphStyle("title", parent=base, fontSize=15, leading=20, spaceAfter=3 * mm),
            "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=4 * mm, spaceAfter=2 * mm,
                                 textColor=colors.HexColor("#1f3a5f")),
            "urgent": ParagraphStyle("urgent", parent=base, fontSize=13, leading=18, textColor=colors.HexColor("#a40000")),
            "body": base, "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=11),
        }
        self.flow: list[Flowable] = []

    def p(self, text: str, style: str = "body") -> None:
        self.flow.append(Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style]))

    def table(self, rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        cell = self.styles["cell"]
        data = [[Paragraph(escape(v).replace("\n", "<br/>"), cell) for v in r] for r in rows]
        table = Table(data, colWidths=[w / sum(widths) * 180 * mm for w in widths])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        self.flow.append(table)


def render_intake_pdf(view: IntakeView, items: ItemSet) -> bytes:
    doc = _Doc(register_font())
    doc.p(f"通告・相談受理記録票（{view.agency_label}）", "title")
    child = "住民記録と照合済み" if view.person_id else f"未照合: {view.child_name}"
    doc.table([
        ("受理日時", _jst(view.received_at)), ("通告者", f"{view.reporter_kind}　{view.reporter_note}"),
        ("子ども", child), ("生年月日", view.child_birth.isoformat() if view.child_birth else "不明"),
        ("内容", view.concern),
        ("安全確認の期限", f"{_jst(view.due_at)}（受理から{view.due_hours}時間以内に直接目視）"),
        ("安全確認", _jst(view.safety_checked_at) if view.safety_checked_at else "未確認"),
    ], (1, 4))
    latest = view.latest
    if latest is not None:
        doc.p("ハードルール（先に適用）", "h2")
        doc.p(f"区分: {latest.hard_level}", "urgent" if latest.hard_level == "緊急" else "body")
        for trigger in latest.hard.get("triggers", []):
            doc.p(f"・{trigger['label']}（{trigger['level']}）— {trigger['reference']}")
        if latest.hard.get("unknown_critical"):
            doc.p("まだ不明な重大項目（先に確かめる）: " + "、".join(latest.hard["unknown_critical"]))
        doc.p("項目の評価", "h2")
        doc.table([(it.label, it.grade(latest.grades.get(it.id, "unknown")).label) for it in items.items], (2, 3))
        doc.p("似た過去事例の要約（判断の材料。予測ではない）", "h2")
        est = latest.estimate
        if est.get("available"):
            knn, model = est["knn"], est["model"]
            doc.p(f"似た過去事例{knn['k']}件のうち一時保護 {knn['protected']}件（{knn['share']:.0%}、"
                  f"95%区間 {knn['low']:.0%}〜{knn['high']:.0%}）")
            doc.p(f"モデルによる要約 {model['share']:.0%}（90%区間 {model['low']:.0%}〜{model['high']:.0%}、版 {est['version']}）")
        doc.p(str(est.get("wording", "")))
    decided = next((a for a in view.assessments if a.decision_level), None)
    doc.p("職員の判断", "h2")
    if decided is None:
        doc.p("まだ記録されていません。")
    else:
        protect = "一時保護する" if decided.decision_protect else "一時保護しない"
        doc.p(f"{_jst(decided.at)}　対応区分: {decided.decision_level}　{protect}")
        if decided.reason:
            doc.p(f"理由: {decided.reason}")
    if view.events:
        doc.p("経過", "h2")
        doc.table([(_jst(e["at"]), f"{EVENT_LABELS.get(e['kind'], e['kind'])}　{e['note']}") for e in view.events], (1, 3))
    doc.flow.append(Spacer(1, 4 * mm))
    doc.p("この記録票には要配慮個人情報が含まれます。取扱いに注意してください。")
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, title="通告・相談受理記録票").build(doc.flow)
    return out.getvalue()

"""The package's human-readable summary: a Japanese PDF inside the sealed package.

Rendered from the same content the package carries, so the paper and the data say the same
thing; IPAexGothic is embedded (``work.rights.pdf.register_font`` names the Debian package when
it is missing). The receiving caseworker reads this first; the JSON feeds the receiving system.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tsunagu.handover.detect import REASON_LABELS
from tsunagu.privacy.policy import JST
from tsunagu.privacy.records import organisation_label
from tsunagu.work.rights.pdf import register_font

NONE = "ありません。"
SEX = {"M": "男", "F": "女"}


class _Doc:
    def __init__(self, font: str) -> None:
        base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
        self.styles = {
            "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, spaceAfter=3 * mm),
            "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=4 * mm, spaceAfter=2 * mm,
                                 textColor=colors.HexColor("#1f3a5f"), keepWithNext=1),
            "body": base, "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=11),
            "note": ParagraphStyle("note", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#444444")),
        }
        self.flow: list[Flowable] = []

    def p(self, text: str, style: str = "body") -> None:
        self.flow.append(Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style]))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> None:
        if not rows:
            self.p(NONE)
            return
        cell = self.styles["cell"]
        data = [[Paragraph(escape(h), cell) for h in header]]
        data += [[Paragraph(escape("" if v is None else str(v)).replace("\n", "<br/>"), cell) for v in r] for r in rows]
        total = sum(widths)
        table = Table(data, colWidths=[w / total * 180 * mm for w in widths], repeatRows=1)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        self.flow += [table, Spacer(1, 2 * mm)]


def _records(doc: _Doc, rows: Sequence[Mapping[str, Any]]) -> None:
    doc.table(["項目", "値", "記録日"], [(r["label"], r["value"], r["observed_on"] or "") for r in rows], [3, 3, 2])


def _section(doc: _Doc, name: str, label: str, data: Any, number: int) -> None:
    doc.p(f"{number}. {label}", "h2")
    if name == "summary":
        if data["items"]:
            _records(doc, data["items"])
        else:  # 「ありません。」 alone read as if the case had no summary at all
            doc.p("こども家庭センターの記録（要対協への登録、相談の受付など）はありません。")
        doc.p(f"実施中の支援方針: {data['active_plans']}件")
    elif name == "assessments":
        doc.table(["日付", "判断", "観察", "根拠（記述）", "記録した役割"], [
            (a["date"], a["decision"], "\n".join(a["observations"]), a["rationale"] or "（情報提供では記述を含めません）",
             a["role"]) for a in data], [1.5, 1.2, 3, 4, 1.8])
    elif name == "plans":
        doc.table(["作成日", "状況", "担当機関", "目標", "次回見直し"], [
            (p["created_on"], p["status"], p["responsible_body"], p["goals"], p["next_review_on"] or "") for p in data],
            [1.5, 1, 2, 5, 1.5])
    elif name == "referrals":
        doc.table(["つなぎ先", "状況", "結果", "開始", "記録"], [
            (r["resource"], r["status"], r["outcome"], r["since"], r["note"] or "") for r in data], [3, 1.2, 3, 1.5, 3])
    elif name == "follow_ups":
        doc.table(["期日", "完了", "記録"], [(f["due_on"], "済" if f["done"] else "未", f["note"]) for f in data],
                  [1.5, 1, 7])
    elif name in ("case_history", "contacts", "meetings", "ledger"):
        if any(r["detail"] is not None for r in data):
            doc.table(["日付", "内容", "記録（記述）"], [
                (r["date"], r["what"], r["detail"] if r["detail"] is not None else "") for r in data], [1.5, 4, 4.5])
        else:  # the ledger has no free text, nor 情報提供's history: no column left empty on every row
            doc.table(["日付", "内容"], [(r["date"], r["what"]) for r in data], [1.5, 8.5])
            if data and name == "case_history":
                doc.p("（情報提供では、状況の変更の理由などの記述を含めません）", "note")
    else:
        _records(doc, data)


def _prepared_at(stamp: str) -> str:
    """The package's time (UTC in the data) as the receiving caseworker reads a time: 日本時間."""
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(JST):%Y-%m-%d %H:%M}（日本時間）"


def _japanese(reason: str) -> str:
    """A node's refusal is written 「日本語 / English」 for the logs; the paper keeps the Japanese."""
    return "; ".join(part.split(" / ")[0].strip() for part in str(reason).split("; "))


def render_pdf(content: Mapping[str, Any]) -> bytes:
    font = register_font()
    doc = _Doc(font)
    sender, recipient, child = content["from"], content["to"], content["child"]
    title = f"{content['kind_label']}（{sender['name']} → {recipient['name']}）"
    doc.p(title, "title")
    doc.p(f"この文書は、転居した子どもについて{sender['name']}が{recipient['name']}に行う{content['kind_label']}の"
          "要旨です。電子署名付き・暗号化されたパッケージの中に、同じ内容のデータとともに収められています。"
          "児童福祉法第25条の5等の秘密保持義務のもとで取り扱ってください。", "note")
    doc.flow.append(Spacer(1, 2 * mm))  # the note sat on the table's top rule
    doc.table(["項目", "内容"], [
        ("氏名（よみ）", f"{child.get('full_name', '')}（{child.get('reading', '')}）"),
        ("生年月日・性別", f"{child.get('birth_date', '')}　{SEX.get(child.get('sex', ''), child.get('sex', ''))}"),
        ("転出前の住所", child.get("address", "")), ("転出日", content["move"]["moved_on"] or "不明"),
        ("引継ぎの理由", "、".join(REASON_LABELS.get(r, r) for r in content["move"]["reasons"]) or "担当者の判断"),
        ("作成", _prepared_at(content["prepared_at"])),
        ("連絡先（担当者）", f"{content['prepared_by']['name']}（{content['prepared_by']['role']}・"
                          f"{sender['name']}）"),
    ], [1, 3])
    doc.p("法的根拠", "h2")
    doc.p(content["legal"]["provision_basis"])
    doc.p("\n".join(f"・{law}" for law in content["legal"]["laws"]), "note")
    for number, (name, label) in enumerate(content["section_labels"], start=1):
        _section(doc, name, label, content["sections"][name], number)
    if content["unavailable"]:
        doc.p("取得できなかった情報", "h2")
        doc.table(["部署", "理由"], [(organisation_label(department), _japanese(reason))
                                    for department, reason in content["unavailable"].items()], [1, 3])
    out = io.BytesIO()

    def footer(canvas: Canvas, template: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(15 * mm, 10 * mm, f"{title}　取扱注意（秘密保持義務あり）")
        canvas.drawRightString(195 * mm, 10 * mm, f"{template.page} ページ")
        canvas.restoreState()

    template = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                                 bottomMargin=18 * mm, title=title, author=sender["name"], subject=content["kind_label"])
    template.build(doc.flow, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()

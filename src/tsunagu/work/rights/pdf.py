"""The disclosure pack as a Japanese PDF (reportlab), rendered from the same data as the JSON.

The PDF embeds IPAexGothic (Debian's ``fonts-ipaexfont-gothic``): a PDF's standard fonts have
no Japanese glyphs, and a font the family's reader may not have must travel with the document.
Rendering from the JSON data guarantees that the two forms of the pack say the same thing.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tsunagu.errors import UnavailableError

FONT_PATH = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
FONT_PACKAGE = "fonts-ipaexfont-gothic"
FONT_NAME = "IPAexGothic"
NONE_TEXT = "ありません。"


class FontMissingError(UnavailableError, RuntimeError):
    """The Japanese font is not installed; the message names the Debian package."""

    code = "font_missing"


def register_font(path: Path = FONT_PATH) -> str:
    """Register the Japanese font once; checked on every call so a removed font is reported, not hidden."""
    if not path.is_file():
        raise FontMissingError(
            f"日本語フォントがありません: {path}。Debian パッケージ {FONT_PACKAGE} をインストールしてください"
            f"（apt-get install {FONT_PACKAGE}） / the PDF needs the Japanese font from the {FONT_PACKAGE} package"
        )
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
    return FONT_NAME


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, spaceAfter=4 * mm),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=5 * mm, spaceAfter=2 * mm,
                             textColor=colors.HexColor("#1f3a5f")),
        "h3": ParagraphStyle("h3", parent=base, fontSize=10, leading=14, spaceBefore=2 * mm, spaceAfter=1 * mm),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=11),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#444444")),
    }


class _Doc:
    def __init__(self, font: str) -> None:
        self.s = _styles(font)
        self.flow: list[Flowable] = []

    def p(self, text: str, style: str = "body") -> None:
        self.flow.append(Paragraph(escape(text).replace("\n", "<br/>"), self.s[style]))

    def h2(self, text: str) -> None:
        self.p(text, "h2")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> None:
        if not rows:
            self.p(NONE_TEXT)
            return
        cell = self.s["cell"]
        data = [[Paragraph(escape(str(h)), cell) for h in header]]
        data += [[Paragraph(escape("" if v is None else str(v)).replace("\n", "<br/>"), cell) for v in r] for r in rows]
        total = sum(widths)
        table = Table(data, colWidths=[w / total * 180 * mm for w in widths], repeatRows=1)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]))
        self.flow.append(table)
        self.flow.append(Spacer(1, 2 * mm))


def _mark(disputed: bool) -> str:
    return "係争中（訂正請求あり）" if disputed else ""


def _pct(value: object) -> str:
    if not isinstance(value, int | float):
        return "—"  # decided by a shared key or by a person, not by a probability
    return "99.99%以上" if value >= 0.9999 else f"{float(value) * 100:.2f}%"


def _at(value: object) -> str:
    text = str(value or "")
    return text[:16].replace("T", " ")


def _sections(doc: _Doc, data: Mapping[str, Any]) -> None:
    request = data["request"]
    doc.p("保有個人情報開示資料", "title")
    doc.p(f"この資料は、個人情報の保護に関する法律に基づく開示請求（受付番号 {request['id']}）に対し、市の子ども支援の"
          "データ連携の仕組み「つなぐ」が保有する本人の情報と、本人の情報へのアクセスの記録をまとめたものです。"
          "各部署の情報は、その部署が開示のために提供したものです。")
    doc.table(["項目", "内容"], [
        ("個人ID（仮名）", data["person_id"]), ("受付番号", request["id"]), ("請求の種類", request["kind"]),
        ("請求者", request["requester"]), ("受付日", request["received_on"]),
        ("回答期限", f"{request['due_on']}（{request['article']}）"), ("作成日時", _at(data["generated_at"])),
        ("作成者", f"{data['prepared_by']['role']}（{data['prepared_by']['organisation']}）"),
    ], [1, 3])

    doc.h2("1. 名寄せ — 本人のものと判断された記録")
    doc.p("各部署の記録のうち、本人のものと判断したものと、その判断の方法です。", "note")
    doc.table(["部署", "データ", "記録番号", "判断の方法", "一致の確率"], [
        (x["department_label"], x["source_label"], x["local_id"], x["method_label"], _pct(x["probability"]))
        for x in data["links"]], [3, 3, 2, 2, 1])

    doc.h2("2. 各部署の本人確認情報")
    doc.table(["部署・データ", "記録番号", "本人確認情報", "訂正請求中の項目"], [
        (f"{i['department_label']}・{i['source_label']}", i["local_id"],
         "\n".join(f"{f['label']}: {f['value']}" for f in i["fields"]),
         "、".join(f["label"] for f in i["fields"] if f["disputed"])) for i in data["identities"]], [3, 2, 5, 2])

    doc.h2("3. 各部署が保有するデータ項目")
    doc.table(["部署・データ", "項目", "値", "記録日", "出力日", "訂正請求"], [
        (f"{x['department_label']}・{x['source_label']}", x["item_label"], x["value"], x["observed_on"],
         x["export_date"], _mark(x["disputed"])) for x in data["items"]], [3, 3, 2, 1.5, 1.5, 1.5])
    if data["withheld"]:
        doc.p("保有部署が開示の可否を判断する項目（この資料には値を含めていません）", "h3")
        doc.table(["部署", "項目", "理由"], [(w["department_label"], "、".join(w["items"]), w["reason"])
                                         for w in data["withheld"]], [2, 4, 4])
    if data["unavailable"]:
        doc.p("情報を取得できなかった部署", "h3")
        doc.table(["部署", "理由"], [(u["department_label"], u["reason"]) for u in data["unavailable"]], [1, 3])

    doc.h2("4. 一次スクリーニングの結果（派生データ）")
    doc.p("複数の部署のデータから、支援が必要かもしれない子どもを確認するための目安を計算した結果です。"
          "結果は職員が確認するきっかけであり、家庭についての判断ではありません。", "note")
    for r in data["screening"]:
        flags = "・ノーマーク" if r["no_mark"] else ""
        doc.p(f"{r['as_of']}時点（実行 {r['run_id']}）: {r['tier']}{flags}　領域: {'・'.join(r['domains']) or 'なし'}"
              f"　前回比: {r['trend']}", "h3")
        rows = [(x["label"], x["item_label"], x["value"] or "", x["department_label"], x["observed_on"] or "",
                 "古いデータ" if x["stale"] else "") for x in r["reasons"]]
        doc.table(["理由", "項目", "値", "部署", "記録日", "注"], rows, [3, 2, 1.5, 2, 1.5, 1])
        if r["withheld_reasons"]:
            doc.p(f"このほか、機微度3の項目による理由が {r['withheld_reasons']}件あります（保有部署が開示を判断します）。",
                  "note")
    if not data["screening"]:
        doc.p(NONE_TEXT)

    doc.h2("5. 世帯（住民記録から作成した派生データ）")
    doc.table(["世帯", "本人の立場", "続柄", "開始", "終了", "現在の世帯員数"], [
        (h["household_id"], h["role"], h["relationship"], _at(h["valid_from"]), _at(h["valid_to"]) or "現在",
         h["current_members"]) for h in data["household"]], [2, 1.5, 1.5, 2, 2, 1.5])

    doc.h2("6. 支援の記録（二次アセスメント・支援方針・つなぎ）")
    doc.table(["日時", "種類", "判断", "観察", "根拠・記録", "記録した役割"], [
        (_at(r["created_at"]), r["kind"], r["decision"], "\n".join(r["observations"]),
         r["rationale"] + (f"\n区分と異なる判断の理由: {r['override_reason']}" if r["override_reason"] else ""),
         r["author_role"]) for r in data["reviews"]], [2, 1.5, 1.2, 2.5, 4, 2])
    for p in data["plans"]:
        doc.p(f"支援方針（{_at(p['created_at'])}作成・{p['status']}）担当機関: {p['responsible_body']}", "h3")
        doc.p(f"目標: {p['goals']}" + (f"\n終結: {_at(p['closed_at'])} {p['closure_note']}" if p["closed_at"] else ""))
        doc.table(["つなぎ先", "状況", "結果", "記録"], [
            (x["resource"], x["status"], x["outcome"], x["note"]) for x in p["referrals"]], [3, 1.5, 3, 3])
    case = data.get("case")
    if case is not None:
        doc.p(f"ケースの状況: {case['status']}" + (f"（担当: {case['team']}）" if case["team"] else ""), "h3")
        doc.table(["日時", "内容", "変更", "理由"], [
            (_at(h["at"]), h["kind"], h["change"], h["reason"]) for h in case["history"]], [2, 2, 2, 4])
        doc.table(["日付", "連絡の種別", "相手", "内容"], [
            (c["on"], c["kind"], c["counterpart"], c["summary"]) for c in case["contacts"]], [1.5, 1.5, 2, 5])
        doc.table(["開催日", "出席した機関", "決定事項"], [
            (m["held_on"], "・".join(m["agencies"]), m["decisions"]) for m in case["meetings"]], [1.5, 3, 5])
        if case["ledger"]:
            led = case["ledger"]
            doc.p(f"要保護児童対策地域協議会への登録: {led['category']}（登録 {led['registered_on']}"
                  + (f"、終了 {led['closed_on']}" if led["closed_on"] else "") + "）")
    if not data["notes_included"]:
        doc.p("支援の記録の記述（自由記載）は機微度3の情報です。記録した機関が不開示事由を確認して開示します。", "note")

    doc.h2("7. 名寄せについての職員の判断")
    doc.table(["記録", "もう一方の記録", "判断", "日時", "理由"], [
        (d["left"], d["right"], d["decision"], _at(d["decided_at"]), d["reason"]) for d in data["link_decisions"]],
        [2.5, 2.5, 1, 2, 3])

    doc.h2("8. 訂正請求中・訂正済みの項目")
    doc.table(["データ", "記録番号", "項目", "状況", "受付番号", "開始"], [
        (d["source_label"], d["local_id"], d["field_label"], d["status"], d["request_id"], _at(d["since"]))
        for d in data["disputes"]], [3, 2, 2, 2.5, 1, 2])

    doc.h2("9. 利用停止")
    doc.table(["開始", "状態", "解除", "根拠"], [
        (_at(s["since"]), "停止中" if s["active"] else "解除済み", _at(s["lifted_at"]), s["reason"])
        for s in data["suspensions"]], [2, 1, 2, 4])

    doc.h2("10. 本人の情報へのアクセスの記録")
    doc.p("いつ、どの役割・所属が、何の目的で本人の情報にアクセスしたかの記録です（拒否されたアクセス、"
          "一次スクリーニングでのシステムによる読み取りを含みます）。個々の職員の氏名は含めていません。", "note")
    doc.table(["日時", "役割・所属", "目的", "操作", "結果", "項目", "緊急閲覧"], [
        (_at(a["at"]), f"{a['role']}（{a['organisation']}）", a["purpose"], a["action"], a["outcome"],
         "、".join(a["items"]), "はい" if a["break_glass"] else "") for a in data["access_history"]],
        [2, 2.5, 1.5, 3, 1, 3, 1])

    doc.h2("この資料について")
    doc.p("内容に誤りがあるときは訂正請求（法第90条）を、利用の停止や派生データの消去を求めるときは利用停止請求"
          "（法第98条）をすることができます。各部署の情報の訂正は、その情報を保有する部署が行います。", "note")


def render_pdf(data: Mapping[str, Any], *, font_path: Path = FONT_PATH) -> bytes:
    font = register_font(font_path)
    out = io.BytesIO()
    title = f"保有個人情報開示資料（受付番号 {data['request']['id']}・個人ID {data['person_id']}）"

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(15 * mm, 10 * mm, title)
        canvas.drawRightString(195 * mm, 10 * mm, f"{doc.page} ページ")
        canvas.restoreState()

    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=title, author="つなぐ", subject="保有個人情報開示資料")
    body = _Doc(font)
    _sections(body, data)
    doc.build(body.flow, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()

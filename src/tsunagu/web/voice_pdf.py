"""PDFs with IPAex Gothic embedded: a class set of code slips to cut and hand out, and the notice
to guardians (what 心の天気 is for, that it is voluntary, how to say no)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tsunagu.outreach.fonts import JAPANESE, find_font
from tsunagu.work.voice.codes import printed
from tsunagu.work.voice.config import voice_settings

FONT = "tsunagu-voice-ja"
PAGE_W, PAGE_H = A4
MARGIN = 36.0
COLUMNS, ROWS = 2, 5


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(find_font(*JAPANESE))))
    return FONT


def slips(municipality: str, class_label: str, codes: Sequence[tuple[str, str]], issued_on: date,
          expires_on: date) -> bytes:
    """Ten slips a page (two columns, five rows), each with the pupil number, the code and what to do."""
    font = _font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{class_label} 子どものページのカード")
    canvas.setFont(font, 10)  # the canvas's first font is embedded too: never the unembedded Helvetica
    width = (PAGE_W - 2 * MARGIN) / COLUMNS
    height = (PAGE_H - 2 * MARGIN) / ROWS
    for index, (pupil_no, code) in enumerate(codes):
        if index and index % (COLUMNS * ROWS) == 0:
            canvas.showPage()
        slot = index % (COLUMNS * ROWS)
        x = MARGIN + (slot % COLUMNS) * width
        y = PAGE_H - MARGIN - (slot // COLUMNS + 1) * height
        canvas.setDash(3, 3)
        canvas.rect(x, y, width, height)
        canvas.setDash()
        top = y + height - 22
        canvas.setFont(font, 9)
        canvas.drawString(x + 12, top, f"{municipality} 子どものページ　{class_label}　番号 {pupil_no}")
        canvas.setFont(font, 11)
        canvas.drawString(x + 12, top - 20, "あなたの コード")
        canvas.setFont(font, 22)
        canvas.drawString(x + 12, top - 48, printed(code))
        canvas.setFont(font, 9)
        lines = ("タブレットで「子どものページ」をひらいて、",
                 "このコードを いれます。心の天気と そうだんに つかえます。",
                 "このカードは ひとに みせないで、なくさないでね。",
                 f"つかえるのは {expires_on.year}年{expires_on.month}月{expires_on.day}日まで"
                 f"（{issued_on.month}月{issued_on.day}日 はっこう）")
        for n, line in enumerate(lines):
            canvas.drawString(x + 12, top - 70 - n * 14, line)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


NOTICE = (
    ("心の天気とは", "児童生徒が、学校のタブレットで毎日の気持ちを4つの天気（晴れ・くもり・雨・かみなり）から選び、"
     "書きたいときはひとこと書く仕組みです。担任が毎日の様子を知り、声をかけるきっかけにします。"),
    ("任意です", "入力は自由です。入力しない日があっても、入力しなくても、成績や評価には一切関係しません。"),
    ("誰が見るか", "担任と、学校のスクールソーシャルワーカー（SSW）、校長・教頭が見ます。"
     "「雨」や「かみなり」が続いたときは、担任とSSWに知らせが届き、声をかけます。"
     "見た記録はすべて残り、保護者は市に誰がいつ見たかを確かめられます。"),
    ("判定には使いません", "心の天気だけで、支援が必要な家庭と判断することはありません。"
     "市の一次スクリーニングでは理由の一つとして表示されることがありますが、それだけで支援の区分が上がることはありません。"),
    ("保存の期間", "入力は1年間保存し、その後削除します。"),
    ("参加しない場合", "お子さんを参加させたくない場合は、学校にお申し出ください（口頭または連絡帳で構いません）。"
     "お申し出を受けた日から入力は保存されず、それまでの入力も削除します。"
     "お子さんの画面には「いまはつかえません」とだけ表示され、理由が他の児童にわかることはありません。"),
)


def notice(municipality: str, issued_on: date) -> bytes:
    """The notice to guardians (one A4 page)."""
    font = _font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle("心の天気についてのお知らせ")
    canvas.setFont(font, 10)
    y = PAGE_H - MARGIN - 20
    canvas.setFont(font, 10)
    canvas.drawRightString(PAGE_W - MARGIN, y, f"{issued_on.year}年{issued_on.month}月{issued_on.day}日")
    y -= 20
    canvas.drawString(MARGIN, y, "保護者のみなさまへ")
    y -= 32
    canvas.setFont(font, 16)
    canvas.drawCentredString(PAGE_W / 2, y, "「心の天気」についてのお知らせ")
    y -= 34
    limit = PAGE_W - 2 * MARGIN
    for heading, body in NOTICE:
        canvas.setFont(font, 12)
        canvas.drawString(MARGIN, y, f"■ {heading}")
        y -= 18
        canvas.setFont(font, 10.5)
        for line in _wrap(body, font, 10.5, limit - 12):
            canvas.drawString(MARGIN + 12, y, line)
            y -= 15
        y -= 8
    canvas.setFont(font, 10)
    hours = voice_settings().office_hours
    canvas.drawString(MARGIN, y - 6, f"お問い合わせ: 在籍校、または {municipality} こども家庭センター（{hours.opens}〜{hours.closes}、平日）")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines, line = [], ""
    for char in text:
        if pdfmetrics.stringWidth(line + char, font, size) > width and char not in "、。）」":
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines

"""The enrolment letter (PDF, A4, Japanese font embedded) that carries the one-time code by post.

Plain Japanese with やさしい日本語 beside it: what the page is, the sign-in id and the code, the
last day the code works, and what to do if the letter was not expected (someone else may have
asked in the family's name: the family should call, and the code is then revoked by issuing anew).
"""

from __future__ import annotations

import io
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tsunagu.privacy.policy import JST
from tsunagu.work.family.issue import IssuedCode
from tsunagu.work.rights.pdf import register_font


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render_letter(issued: IssuedCode, *, municipality: str, portal_url: str, issued_on: date) -> bytes:
    font = register_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=14, textColor=colors.HexColor("#333333"))
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=22, spaceBefore=6 * mm, spaceAfter=4 * mm)
    big = ParagraphStyle("big", parent=body, fontSize=16, leading=22)
    expires = issued.expires_at.astimezone(JST)
    flow = [
        _p(f"〒{issued.postal_code}" if issued.postal_code else "", body),
        _p(issued.address, body),
        _p(f"{issued.name}　様", ParagraphStyle("to", parent=body, fontSize=13, leading=20)),
        Spacer(1, 4 * mm),
        _p(f"{issued_on:%Y年%m月%d日}\n{municipality}", ParagraphStyle("from", parent=body, alignment=2)),
        _p("家族向けページ「つなぐ」登録のご案内", title),
        _p("お子さんの乳幼児健診・予防接種の記録、市の職員がお子さんの情報を見た記録（アクセス記録）を、"
           "スマートフォンやパソコンで確かめられます。開示・訂正・利用停止の請求もできます。", body),
        _p("やさしい にほんご：お子さんの けんしん や よぼうせっしゅ の きろく を、スマートフォン で みる ことが できます。"
           "した の ばんごう と コード を つかって、はじめ に とうろく して ください。", small),
        Spacer(1, 5 * mm),
    ]
    box = Table([
        [_p("登録するページ", body), _p(portal_url, ParagraphStyle("url", parent=body, fontSize=11, leading=15))],
        [_p("利用者番号", body), _p(issued.login_id, big)],
        [_p("登録コード（1回だけ使えます）", body), _p(issued.code, big)],
        [_p("有効期限", body), _p(f"{expires:%Y年%m月%d日 %H時%M分}まで", big)],
    ], colWidths=[55 * mm, 115 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                             ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.grey),
                             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef3f8")),
                             ("TOPPADDING", (0, 0), (-1, -1), 3 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm)]))
    flow += [box, Spacer(1, 5 * mm)]
    steps = [
        "1. 上の「登録するページ」を開きます（サインインのページの「はじめて使うかた」からも開けます）。",
        "2. 利用者番号と登録コードを入れ、ご自分で決めたパスワード（12文字以上）を2回入れます。",
        "3. 次からは、利用者番号とパスワードでサインインします。登録コードはもう使えません。",
    ]
    flow += [_p(s, body) for s in steps]
    flow += [
        Spacer(1, 5 * mm),
        _p("ご注意", ParagraphStyle("h", parent=body, fontSize=12, leading=18)),
        _p("・見られるのは、住民票で同じ世帯にいる、あなたのお子さん（18歳未満）の記録だけです。"
           "世帯が変わると見られなくなります。", small),
        _p("・この通知書は他の人に見せないでください。登録コードは1回だけ、有効期限まで使えます。", small),
        _p("・心当たりのない通知書が届いたときや、期限が切れたときは、市の個人情報保護の窓口にご連絡ください。"
           "新しいコードを発行すると、前のコードは使えなくなります。", small),
        _p("・サインインや登録コードの入力を5回まちがえると、5分間できなくなります。", small),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title="家族向けページ 登録のご案内", author=municipality)
    doc.build(flow)
    return out.getvalue()

"""Letters as PDF: one template per language (``letters/<lang>.yaml``), fonts embedded.

Each household's letter starts on a new page; names and addresses are always set in IPAex Gothic
(they are written in Japanese in the register), the body in the language's font. Lines are broken
by width: per character for Japanese and Chinese (never starting a line with closing punctuation),
per word for the other languages and for やさしい日本語, which is written with spaces between words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tsunagu.outreach.errors import UnknownLanguageError
from tsunagu.outreach.fonts import JAPANESE, LATIN, chinese_font, find_font
from tsunagu.yamlstrict import ConfigError, read_yaml, validation_error

LANGUAGES = ("ja", "easy_ja", "en", "zh", "pt", "vi")
LANGUAGE_LABELS = {"ja": "日本語", "easy_ja": "やさしい日本語", "en": "英語", "zh": "中国語", "pt": "ポルトガル語",
                   "vi": "ベトナム語"}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
NAME_FONT = "tsunagu-ja"
_NO_LINE_START = set("、。，．,.)）」』】〕！？!?・ー：；:;")
PAGE_W, PAGE_H = 595.27, 841.89  # A4 in points
MARGIN = 56.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgrammeText(_Strict):
    title: str
    body: str


class Template(_Strict):
    language: str
    name: str
    font: Literal["ja", "latin", "zh"]
    date: str
    title: str
    salutation: str
    intro: str
    children: str
    programmes: dict[str, ProgrammeText]
    other_programme: str
    how_to: str
    optout: str
    contact: str
    footer: str
    departments: dict[str, str]

    def all_text(self) -> str:
        parts = [self.date, self.title, self.salutation, self.intro, self.children, self.other_programme, self.how_to,
                 self.optout, self.contact, self.footer, *self.departments.values()]
        for text in self.programmes.values():
            parts += [text.title, text.body]
        return "".join(parts) + "0123456789/-#"


@cache
def template(language: str) -> Template:
    if language not in LANGUAGES:
        raise UnknownLanguageError(f"案内の言語は {' / '.join(LANGUAGES)} のいずれかです（指定: {language}）")
    path = Path(str(resources.files("tsunagu.outreach") / "letters" / f"{language}.yaml"))
    data, node = read_yaml(path)
    try:
        loaded = Template.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc
    if loaded.language != language:
        raise ConfigError(path, None, f"language {loaded.language!r} does not match the file name")
    return loaded


@cache
def _register(font: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if font == "ja":
        path = find_font(*JAPANESE)
    elif font == "latin":
        path = find_font(*LATIN)
    else:
        path = chinese_font(template("zh").all_text())
    name = f"tsunagu-{font}"
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


@dataclass
class Letter:
    notice_no: str
    addressee: str
    postal_code: str
    address: str
    children: list[str]
    programmes: list[tuple[str, str]]  # (programme id, Japanese label for programmes without a template text)
    department: str
    sent_on: date
    language: str


def _date_text(t: Template, day: date) -> str:
    return t.date.format(y=day.year, m=day.month, d=day.day, month_en=MONTHS_EN[day.month - 1])


def _tokens(text: str, by_word: bool) -> list[str]:
    if by_word:
        return re.findall(r"\S+\s*", text)
    return list(text)


def wrap(text: str, font: str, size: float, width: float, *, by_word: bool) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for token in _tokens(text, by_word):
        candidate = current + token
        if current and stringWidth(candidate.rstrip(), font, size) > width and token[0] not in _NO_LINE_START:
            lines.append(current.rstrip())
            current = token
        else:
            current = candidate
    if current.strip():
        lines.append(current.rstrip())
    return lines


class _Page:
    """A canvas with a cursor that opens a new page when the text reaches the bottom margin."""

    def __init__(self, canvas: object, body: str, by_word: bool) -> None:
        self.c = canvas
        self.body = body
        self.by_word = by_word
        self.y = PAGE_H - MARGIN

    def need(self, height: float) -> None:
        if self.y - height < MARGIN:
            self.c.showPage()  # type: ignore[attr-defined]
            self.y = PAGE_H - MARGIN

    def text(self, text: str, size: float = 10.5, *, font: str | None = None, gap: float = 4.0, x: float = MARGIN) -> None:
        face = font or self.body
        for line in wrap(text, face, size, PAGE_W - x - MARGIN, by_word=self.by_word and face == self.body):
            self.need(size * 1.6)
            self.c.setFont(face, size)  # type: ignore[attr-defined]
            self.c.drawString(x, self.y - size, line)  # type: ignore[attr-defined]
            self.y -= size * 1.6
        self.y -= gap

    def pair(self, label: str, value: str, size: float = 10.5) -> None:
        """A label in the body font followed by Japanese names in the name font, on one line."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        self.need(size * 1.8)
        self.c.setFont(self.body, size)  # type: ignore[attr-defined]
        self.c.drawString(MARGIN, self.y - size, label + ": ")  # type: ignore[attr-defined]
        offset = stringWidth(label + ": ", self.body, size)
        self.c.setFont(NAME_FONT, size)  # type: ignore[attr-defined]
        self.c.drawString(MARGIN + offset, self.y - size, value)  # type: ignore[attr-defined]
        self.y -= size * 1.8


def draw_letter(canvas: object, letter: Letter) -> None:
    t = template(letter.language)
    body = _register(t.font)
    _register("ja")
    page = _Page(canvas, body, by_word=t.font == "latin" or letter.language == "easy_ja")
    c = canvas
    c.setFont(body, 10)  # type: ignore[attr-defined]
    c.drawRightString(PAGE_W - MARGIN, page.y - 10, _date_text(t, letter.sent_on))  # type: ignore[attr-defined]
    department = t.departments.get(letter.department, letter.department)
    page.y -= 16
    c.drawRightString(PAGE_W - MARGIN, page.y - 10, department)  # type: ignore[attr-defined]
    page.y -= 8
    for line in (f"〒{letter.postal_code}" if letter.postal_code else "", letter.address, f"{letter.addressee} 様"):
        if line:
            page.text(line, 11, font=NAME_FONT, gap=0)
    page.y -= 18
    page.text(t.title, 15, gap=10)
    before, _, after = t.salutation.partition("{name}")
    page.need(20)
    from reportlab.pdfbase.pdfmetrics import stringWidth

    c.setFont(body, 10.5)  # type: ignore[attr-defined]
    c.drawString(MARGIN, page.y - 10.5, before)  # type: ignore[attr-defined]
    x = MARGIN + stringWidth(before, body, 10.5)
    c.setFont(NAME_FONT, 10.5)  # type: ignore[attr-defined]
    c.drawString(x, page.y - 10.5, letter.addressee)  # type: ignore[attr-defined]
    x += stringWidth(letter.addressee, NAME_FONT, 10.5)
    c.setFont(body, 10.5)  # type: ignore[attr-defined]
    c.drawString(x, page.y - 10.5, after)  # type: ignore[attr-defined]
    page.y -= 22
    page.text(t.intro, gap=6)
    if letter.children:
        page.pair(t.children, "、".join(letter.children))
    for programme, label in letter.programmes:
        text = t.programmes.get(programme)
        page.y -= 4
        # The square is drawn in IPAex: Noto Sans has none, and the Chinese subset holds only the template.
        page.need(20)
        c.setFont(NAME_FONT, 12)  # type: ignore[attr-defined]
        c.drawString(MARGIN, page.y - 12, "■")  # type: ignore[attr-defined]
        if text is None:
            page.text(label, 12, font=NAME_FONT, gap=2, x=MARGIN + 16)
            page.text(t.other_programme, x=MARGIN + 16)
        else:
            page.text(text.title, 12, gap=2, x=MARGIN + 16)
            page.text(text.body, x=MARGIN + 16)
    page.y -= 6
    page.text(t.how_to)
    page.text(t.optout)
    page.y -= 6
    page.text(f"{t.contact}: {department}", 11)
    page.need(20)
    c.setFont(body, 8)  # type: ignore[attr-defined]
    c.drawString(MARGIN, MARGIN - 20, t.footer.format(notice_no=letter.notice_no))  # type: ignore[attr-defined]
    c.showPage()  # type: ignore[attr-defined]


def render_batch(path: Path, letters: list[Letter], on_letter: object = None) -> list[int]:
    """Write ``letters`` into one PDF; returns each letter's first page (1-based)."""
    from reportlab.pdfgen.canvas import Canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    # The initial font is IPAex, so no unembedded standard font (Helvetica) is ever referenced.
    canvas = Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=True,
                    initialFontName=_register("ja"))  # type: ignore[arg-type]  # the stub says float; reportlab takes a name
    canvas.setTitle("子育てに関する制度のご案内")
    firsts = []
    for letter in letters:
        firsts.append(canvas.getPageNumber())
        draw_letter(canvas, letter)
        if callable(on_letter):
            on_letter()
    canvas.save()
    return firsts

"""Letters: every language renders with its font embedded and its text extractable; the tone stays neutral."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pypdf
import pytest

from tsunagu.outreach import fonts
from tsunagu.outreach.pdf import LANGUAGES, Letter, render_batch, template

PROGRAMMES = [("school_aid", "就学援助"), ("municipal_study_support", "学習支援（市独自）")]
# Words each language's letter must show (title and the programme), read back from the PDF.
EXPECTED = {"ja": ["子育てに関する制度のご案内", "就学援助"], "easy_ja": ["制度", "就学援助"],
            "en": ["Information on support", "School expenses aid"], "zh": ["关于育儿支援制度的通知", "就学援助"],
            "pt": ["Informações sobre apoios", "Auxílio escolar"], "vi": ["Thông báo về các chế độ", "Hỗ trợ đi học"]}
# Never in a letter: how the family was found, or any department but the sender.
FORBIDDEN = ["スクリーニング", "screening", "審査", "判定", "税務", "生活保護", "子育て支援課", "保健", "Tax"]


def _letter(i: int, language: str) -> Letter:
    return Letter(f"20261110-ABC123-{i:05d}", f"山田 花子{i}", "799-0001", "つなぐ市中央1丁目2番3号", ["山田 太郎"],
                  PROGRAMMES, "board_of_education", date(2026, 11, 10), language)


def test_a_batch_of_1000_households_renders_in_every_language(tmp_path: Path) -> None:
    letters = [_letter(i, LANGUAGES[i % len(LANGUAGES)]) for i in range(1000)]
    for language in LANGUAGES:
        mine = [x for x in letters if x.language == language]
        path = tmp_path / f"{language}.pdf"
        firsts = render_batch(path, mine)
        reader = pypdf.PdfReader(path)
        assert len(firsts) == len(mine) and len(reader.pages) >= len(mine)
        for page_no in (firsts[0], firsts[-1]):
            text = reader.pages[page_no - 1].extract_text()
            for word in EXPECTED[language]:
                assert word in text, (language, word)
            assert "つなぐ市中央" in text and "山田 花子" in text  # names and addresses in Japanese
            assert not any(bad in text for bad in FORBIDDEN), language
        used = reader.pages[0]["/Resources"]["/Font"]
        assert len(used) >= (1 if language in ("ja", "easy_ja") else 2)
        for key in used:
            font = used[key]
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            assert descendant["/FontDescriptor"].get("/FontFile2") is not None, (language, font["/BaseFont"])


def test_every_template_covers_the_baseline_programmes_and_departments() -> None:
    base = template("ja")
    for language in LANGUAGES:
        t = template(language)
        assert set(t.programmes) == set(base.programmes), language
        assert set(t.departments) == set(base.departments), language


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="案内の言語"):
        template("xx")


def test_a_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(fonts.FontMissingError, match="fonts-noto-cjk"):
        fonts.find_font("NotoSansCJK-Regular.ttc", "fonts-noto-cjk", dirs=[tmp_path])

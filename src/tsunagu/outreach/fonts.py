"""Fonts for letters, found at run time in the Debian font packages and embedded in every PDF.

- Japanese and やさしい日本語, and every name and address: IPAex Gothic (fonts-ipaexfont-gothic).
- English, Portuguese, Vietnamese: Noto Sans (fonts-noto-core), which has Vietnamese diacritics.
- Chinese (简体): Noto Sans CJK SC (fonts-noto-cjk). Its outlines are CFF, which reportlab cannot
  embed, so the glyphs the Chinese template uses are subset with fontTools and converted to
  TrueType outlines (cubic → quadratic, within one font unit) into a cached file.

Nothing is downloaded: a missing package is a FontMissingError naming it.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tsunagu.errors import UnavailableError

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
JAPANESE = ("ipaexg.ttf", "fonts-ipaexfont-gothic")
LATIN = ("NotoSans-Regular.ttf", "fonts-noto-core")
CJK = ("NotoSansCJK-Regular.ttc", "fonts-noto-cjk")
CJK_SC_NAME = "Noto Sans CJK SC"


class FontMissingError(UnavailableError, RuntimeError):
    """A font a letter needs is not installed."""

    code = "font_missing"


def find_font(name: str, package: str, dirs: Iterable[Path] = FONT_DIRS) -> Path:
    for base in dirs:
        if base.is_dir():
            for found in sorted(base.rglob(name)):
                return found
    raise FontMissingError(f"フォント {name} が見つかりません。Debian パッケージ {package} を入れてください"
                           f"（apt-get install {package}） / font {name} missing: install {package}")


def _sc_index(path: Path) -> int:
    from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]

    collection = TTCollection(str(path), lazy=True)
    for i, font in enumerate(collection.fonts):
        family = font["name"].getDebugName(1) or ""
        if family == CJK_SC_NAME:
            return i
    raise FontMissingError(f"{path} に {CJK_SC_NAME} がありません（fonts-noto-cjk を入れ直してください）")


def _to_truetype(font: object) -> None:
    """Replace CFF outlines by TrueType ones in place (the fontTools otf2ttf recipe)."""
    from fontTools.pens.cu2quPen import Cu2QuPen  # type: ignore[import-untyped]
    from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont, newTable

    assert isinstance(font, TTFont)
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def chinese_font(text: str, cache_dir: Path | None = None) -> Path:
    """A TrueType subset of Noto Sans CJK SC covering ``text`` (and ASCII), cached by content."""
    from fontTools.subset import Options, Subsetter  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont

    source = find_font(*CJK)
    chars = sorted(set(text) | {chr(c) for c in range(0x20, 0x7F)})
    digest = hashlib.sha256(("".join(chars) + str(source.stat().st_size)).encode("utf-8")).hexdigest()[:16]
    cache = cache_dir or Path(tempfile.gettempdir()) / "tsunagu-fonts"
    target = cache / f"NotoSansCJKsc-subset-{digest}.ttf"
    if target.is_file():
        return target
    font = TTFont(str(source), fontNumber=_sc_index(source), lazy=False)
    options = Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.desubroutinize = True
    subsetter = Subsetter(options)
    subsetter.populate(text="".join(chars))
    subsetter.subset(font)
    _to_truetype(font)
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    font.save(str(partial))
    partial.replace(target)
    return target

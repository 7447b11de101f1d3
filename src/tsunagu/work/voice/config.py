"""The channel's settings (``voice.yaml``: office hours, national lines, categories) and the dated,
referenced list of urgent words (``urgent_words.yaml``), with the matching that tolerates the ways
a child writes them (katakana, half width, small kana, spaces)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tsunagu.privacy.policy import JST
from tsunagu.yamlstrict import load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OfficeHours(_Strict):
    days: list[int] = Field(min_length=1)
    opens: str = Field(pattern=r"^\d\d:\d\d$")
    closes: str = Field(pattern=r"^\d\d:\d\d$")
    reference: str = Field(min_length=1)


class Hotline(_Strict):
    name: str
    number: str
    easy: str
    reference: str


class VoiceSettings(_Strict):
    office_hours: OfficeHours
    hotlines: list[Hotline] = Field(min_length=1)
    categories: dict[str, str]
    priorities: dict[str, str]
    pupil_code_days: int = Field(ge=1, le=800)


class UrgentWord(_Strict):
    id: str
    label: str
    forms: list[str] = Field(min_length=1)


class UrgentWords(_Strict):
    version: date
    reference: str = Field(min_length=1)
    words: list[UrgentWord] = Field(min_length=1)


def _path(name: str) -> Path:
    return Path(str(resources.files("tsunagu.work.voice") / name))


@cache
def voice_settings() -> VoiceSettings:
    return load_model(_path("voice.yaml"), VoiceSettings)


@cache
def urgent_words() -> UrgentWords:
    return load_model(_path("urgent_words.yaml"), UrgentWords)


def in_office_hours(settings: VoiceSettings, moment: datetime) -> bool:
    local = moment.astimezone(JST)
    hours = settings.office_hours
    return (local.weekday() in hours.days
            and time.fromisoformat(hours.opens) <= local.time() < time.fromisoformat(hours.closes))


_SMALL = str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ")
# Everything that is not a letter, a kana or a kanji: spaces, punctuation, symbols, emoji.
_NOISE = re.compile(r"[^\w]|_", re.UNICODE)


def fold(text: str) -> str:
    """The form words are compared in: NFKC (half width → full width kana, full width → ASCII),
    katakana → hiragana, small kana → large, lower case, and no spaces, punctuation or symbols."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)
    text = text.replace("ー", "")  # a stretched vowel (しにたーい) says the same
    return _NOISE.sub("", text).translate(_SMALL)


@cache
def _folded_forms() -> tuple[tuple[str, str], ...]:
    return tuple((word.id, fold(form)) for word in urgent_words().words for form in word.forms)


def urgent_terms(text: str) -> list[str]:
    """The ids of the urgent words in ``text`` (each once, in the list's order)."""
    folded = fold(text)
    found = [word_id for word_id, form in _folded_forms() if form and form in folded]
    return list(dict.fromkeys(found))


def urgent_labels(ids: list[str]) -> list[str]:
    labels = {w.id: w.label for w in urgent_words().words}
    return [labels[i] for i in ids if i in labels]

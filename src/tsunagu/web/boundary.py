"""The one rule every request string passes at the web's boundary: no control characters.

PostgreSQL's ``text`` cannot hold NUL (U+0000), and a lone surrogate (``"\\ud800"`` in JSON) cannot be
encoded for any driver: such a value reached the store and failed there, a 500 (issue 16). Nothing a
person types needs them. The rule is XML 1.0's ``Char`` production (§2.2): of the C0 controls only
tab, line feed and carriage return are text, and surrogates are none — tab and line breaks being what a
free-text field (a note, a rationale: a ``<textarea>``) carries. So:

- in the path, the query string and every field *name*: no C0 control character at all;
- in the values of a form or a JSON body (where free text lives): none but tab, LF and CR;
- nowhere a lone surrogate.

The staff app and the family portal run it as an app-wide dependency (``BOUNDARY``), before any
route's own; a refusal is a ``ControlCharacterError`` (an ``InputError``: 422, code
``control_character``), shown through the one error shape of ``web/errors.py``. A refused form
comes back filled in, the refused characters left out (``refill_values``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from tsunagu.errors import InputError
from tsunagu.web.deps import FIELD_LABELS

# C0 controls and lone surrogates; the free-text variant spares tab (09), LF (0A) and CR (0D).
_ANY_CONTROL = re.compile("[\x00-\x1f\ud800-\udfff]")
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ControlCharacterError(InputError):
    """A request string holds a control character (NUL and the like) that no field may hold."""

    code = "control_character"

    def __init__(self, field: str | None) -> None:
        self.field = field  # the form's field, for the message beside it (web/forms.py); None: the request
        label = FIELD_LABELS.get(field or "", "入力")
        super().__init__(f"{label}に使えない見えない文字（制御文字）が含まれています。その文字を除いて、もう一度送ってください。"
                         f" / {field or 'the request'} contains a control character (e.g. NUL) that cannot be stored")


def _strings(request: Request) -> Iterator[tuple[str, str, bool]]:
    """``(field, text, free_text)`` for the path, its parameters and the query string."""
    for name, value in request.path_params.items():
        yield name, str(value), False
    yield "", request.scope.get("path", ""), False
    for name, value in request.query_params.multi_items():
        yield "", name, False
        yield name, value, False


def _json_strings(value: Any, field: str = "") -> Iterator[tuple[str, str, bool]]:
    if isinstance(value, str):
        yield field, value, True
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield "", str(key), False
            yield from _json_strings(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, field)


async def _body_strings(request: Request) -> list[tuple[str, str, bool]]:
    """The form's or the JSON body's strings. FastAPI has read the body already for a route that
    declares one (Starlette keeps it), so reading it here reads no socket twice."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return []
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    found: list[tuple[str, str, bool]] = []
    if kind in _FORM_TYPES:
        for name, value in (await request.form()).multi_items():
            found.append(("", name, False))
            if isinstance(value, str):
                found.append((name, value, True))
            elif isinstance(value, UploadFile) and value.filename:  # the file's bytes are no text
                found.append((name, value.filename, False))
    elif kind == "application/json" or kind.endswith("+json"):
        try:
            body = await request.json()
        except ValueError:  # not JSON: the route's own validation answers it
            return []
        found.extend(_json_strings(body))
    return found


def offending(text: str, free_text: bool) -> bool:
    return (_BAD_IN_TEXT if free_text else _ANY_CONTROL).search(text) is not None


async def refuse_control_characters(request: Request) -> None:
    """Refuse the request if any of its strings holds a character no field may hold."""
    for field, text, free_text in [*_strings(request), *(await _body_strings(request))]:
        if offending(text, free_text):
            raise ControlCharacterError(field or None)


def refill_values(values: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """A refused form's values as they come back: the refused characters left out, the rest as typed."""
    return {_ANY_CONTROL.sub("", name): tuple(_BAD_IN_TEXT.sub("", v) for v in sent) for name, sent in values.items()}


BOUNDARY = Depends(refuse_control_characters)

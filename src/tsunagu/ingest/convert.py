"""Row conversion: cells → normalised identity fields and typed item observations.

A row whose key or identity cells break a rule, or whose shape is wrong (cells beyond the header),
is quarantined whole: every problem in the row is reported and nothing of it is loaded, so a data
steward fixes the row once. A bad value in a non-identifying cell (an item, an observation date, a
checked column) does not keep the person out of linkage and screening: the row is loaded without
that value and the problem is recorded as *flagged* for the steward.
"""

from __future__ import annotations

import calendar
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from tsunagu.catalog import Catalog, DataItem
from tsunagu.catalog.manifest import CODE_IDENTIFIERS, DateStyle, ItemMapping, Manifest
from tsunagu.ingest.dates import DateParseError, parse_date, parse_excel_serial
from tsunagu.ingest.normalize import address_key, name_key, postal_code, reading_display, reading_key, split_name

Value = bool | int | float | str | date


# The column a problem with the row's shape (more cells than the header) is reported under.
SHAPE_COLUMN = "(行)"


@dataclass(frozen=True)
class Problem:
    column: str
    value: str
    rule: str


@dataclass(frozen=True)
class Observation:
    item_id: str
    value_text: str | None
    value_num: float | None
    value_bool: bool | None
    observed_on: date


@dataclass
class ConvertedRow:
    local_id: str
    identity: dict[str, object]
    observations: list[Observation]
    raw: str
    flags: list[Problem] = field(default_factory=list)  # values left out of the load, for the steward


@lru_cache(maxsize=200_000)
def _cached_date(text: str, style: str, date1904: bool = False) -> date:
    try:
        return parse_date(text, style)
    except DateParseError:
        # A date column that passed through Excel often holds the serial number (43466) instead.
        if style == "auto":
            found = parse_excel_serial(text, date1904=date1904)
            if found is not None:
                return found
        raise


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@lru_cache(maxsize=100_000)
def parse_cell_date(text: str, style: DateStyle, date1904: bool = False) -> date:
    """Dates in a cell, including the two styles that only observation columns use."""
    folded = _fold(text)
    if style == "year_month":
        year, _, month = folded.replace("/", "-").partition("-")
        try:
            y, m = int(year), int(month)
            return date(y, m, calendar.monthrange(y, m)[1])
        except ValueError:
            raise DateParseError(f"年月として読めません: {text!r} / not a year-month (YYYY-MM)") from None
    if style == "fiscal_year":
        if not (folded.isdigit() and len(folded) == 4):
            raise DateParseError(f"年度として読めません: {text!r} / not a fiscal year (YYYY)")
        return date(int(folded), 4, 1)
    return _cached_date(text.strip(), style, date1904)


@lru_cache(maxsize=256)
def _code_table(codes: tuple[str, ...]) -> dict[str, str]:
    """Width-folded code → the catalogue's own spelling (養護相談(虐待) → 養護相談（虐待）)."""
    return {_fold(code): code for code in codes}


def _typed(item: DataItem, raw: str, mapping: ItemMapping, date1904: bool = False) -> Value:
    """Apply the value map, then the catalogue's type; raise ValueError with the rule broken."""
    value: object = raw.strip()
    if mapping.present_means is not None:
        value = mapping.present_means
    elif mapping.values is not None:
        if value not in mapping.values:
            raise ValueError(
                f"値の対応表にない値です（{', '.join(map(str, mapping.values))}） / value not in the manifest's value map"
            )
        value = mapping.values[str(value)]
    kind = item.value_type
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("真偽値に変換できません（manifest の values が必要） / not a boolean")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise ValueError("数値項目に真偽値は入りません / boolean in a numeric item")
        text = _fold(str(value)).replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise ValueError("数値ではありません / not a number") from None
        if kind == "int":
            if not number.is_integer():
                raise ValueError("整数ではありません / not an integer")
            return int(number)
        return number
    if kind == "code":
        assert item.codes is not None
        canonical = _code_table(item.codes).get(_fold(str(value)))
        if canonical is None:
            raise ValueError(f"コード表にない値です（{', '.join(item.codes)}） / unknown code")
        return canonical
    if kind == "date":
        return parse_cell_date(str(value), mapping.date_style or "auto", date1904)
    return _fold(str(value))


def _checked(item: DataItem, value: Value, export_date: date) -> Value:
    """The catalogue's checks of an item (ValueChecks); raise ValueError naming the one broken."""
    checks = item.checks
    if checks is None:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if checks.min is not None and value < checks.min:
            raise ValueError(f"{_number(checks.min)}未満の値です / below the minimum {_number(checks.min)}")
        if checks.max is not None and value > checks.max:
            raise ValueError(f"{_number(checks.max)}を超える値です / above the maximum {_number(checks.max)}")
    if checks.pattern is not None and isinstance(value, str) and not _pattern(checks.pattern).fullmatch(value):
        raise ValueError("項目の決まった形ではありません / not in the item's pattern")
    if checks.not_after_export and isinstance(value, date) and value > export_date:
        raise ValueError(
            f"出力日（{export_date.isoformat()}）より後の日付です / after the export date {export_date.isoformat()}"
        )
    return value


@lru_cache(maxsize=64)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _number(bound: float) -> str:
    return str(int(bound)) if bound.is_integer() else str(bound)


def typed_value(item: DataItem, raw: str, mapping: ItemMapping, export_date: date, date1904: bool = False) -> Value:
    """A cell's value for an item: the manifest's value map, the catalogue's type, then its checks."""
    return _checked(item, _typed(item, raw, mapping, date1904), export_date)


def _observation(item_id: str, value: Value, observed_on: date) -> Observation:
    if isinstance(value, bool):
        return Observation(item_id, None, None, value, observed_on)
    if isinstance(value, int | float):
        return Observation(item_id, None, float(value), None, observed_on)
    if isinstance(value, date):
        return Observation(item_id, value.isoformat(), None, None, observed_on)
    return Observation(item_id, value, None, None, observed_on)


class RowConverter:
    """Converts the rows of one file under one manifest; built once per file.

    ``date1904``: the workbook's date system for an xlsx file (the manifest's setting otherwise).
    """

    def __init__(self, manifest: Manifest, catalog: Catalog, header: list[str], export_date: date,
                 date1904: bool | None = None) -> None:
        self.manifest = manifest
        self.export_date = export_date
        self.date1904 = manifest.excel_date_system == 1904 if date1904 is None else date1904
        self.index = {name: i for i, name in enumerate(header)}
        self.header = header
        self.items = [(m, catalog.item(m.item)) for m in manifest.items]
        self._identity = _identity_builders(manifest, export_date, self.date1904)

    def missing_columns(self) -> list[str]:
        return [c for c in self.manifest.required_columns() if c not in self.index]

    def cell(self, cells: list[str], column: str) -> str:
        i = self.index[column]
        return cells[i] if i < len(cells) else ""

    def convert(self, cells: list[str]) -> ConvertedRow | list[Problem]:
        """The row converted (with its flagged values), or every problem of a row to quarantine."""
        problems: list[Problem] = []
        if len(cells) > len(self.header) and any(c.strip() for c in cells[len(self.header) :]):
            problems.append(
                Problem(
                    SHAPE_COLUMN,
                    str(len(cells)),
                    f"列数が見出し（{len(self.header)}列）より多い / more cells than header columns",
                )
            )
        # Width-folded like 宛名番号: a key typed in full-width digits is the same key.
        local_parts = [_fold(self.cell(cells, c)) for c in self.manifest.local_id]
        if not all(local_parts):
            missing = self.manifest.local_id[local_parts.index("")]
            problems.append(Problem(missing, "", "識別子（local_id）が空欄 / the record key is blank"))
        identity: dict[str, object] = {}
        flags: list[Problem] = []
        lenient = self.manifest.lenient_identifiers
        for field_name, column in self.manifest.identifiers.items():
            text = self.cell(cells, column).strip()
            if not text:
                continue
            try:
                for key, value in self._identity[field_name](text).items():
                    identity[key] = value
            except ValueError as exc:
                # A declared lenient field (manifest.lenient_identifiers) is left out and flagged.
                (flags if field_name in lenient else problems).append(Problem(column, text, str(exc)))
        observations = self._observations(cells, flags)
        if problems:
            return problems + flags
        raw = json.dumps(dict(zip(self.header, cells, strict=False)), ensure_ascii=False)
        return ConvertedRow(":".join(local_parts), identity, observations, raw, flags)

    def readable_local_id(self, cells: list[str], problems: list[Problem]) -> str | None:
        """The record key of a quarantined row where its own column(s) can be read, else None.

        Kept with the quarantine entry so the department can say whose data did not load (a node
        answers which subjects have unreadable rows). A key cell that is blank or broke a rule
        itself names nobody; nor does any cell of a row with more cells than its header, where a
        stray separator may have shifted the key into another column. Such rows stay unattributed
        (counted, not pinned on a possibly wrong person).
        """
        untrusted = {*self.manifest.local_id, SHAPE_COLUMN}
        if any(p.column in untrusted for p in problems):
            return None
        parts = [_fold(self.cell(cells, c)) for c in self.manifest.local_id]
        return ":".join(parts) if all(parts) else None

    def _date(self, text: str, style: DateStyle | None) -> date:
        return parse_cell_date(text, style or self.manifest.date_style, self.date1904)

    def _check_date_alone(self, cells: list[str], mapping: ItemMapping, problems: list[Problem]) -> None:
        """A row with no value to record may still carry a broken observation date: a flagged cell."""
        if mapping.observed_on == "export_date" or any(p.column == mapping.observed_on for p in problems):
            return
        when_text = self.cell(cells, mapping.observed_on).strip()
        if when_text:
            try:
                self._date(when_text, mapping.observed_style)
            except DateParseError as exc:
                problems.append(Problem(mapping.observed_on, when_text, str(exc)))

    def _observations(self, cells: list[str], problems: list[Problem]) -> list[Observation]:
        found: list[Observation] = []
        for column, allowed in self.manifest.allowed_values.items():
            text = _fold(self.cell(cells, column))
            if text and text not in allowed:
                problems.append(Problem(column, text, f"許容値にない値です（{', '.join(allowed)}） / value not allowed"))
        for mapping, item in self.items:
            text = self.cell(cells, mapping.column).strip()
            if mapping.when and not all(
                _condition(self.cell(cells, col).strip(), want) for col, want in mapping.when.items()
            ):
                # The cell feeds no item on this row, but a malformed value is still worth a flag.
                if text and mapping.present_means is None:
                    try:
                        _typed(item, text, mapping, self.date1904)
                    except (ValueError, DateParseError) as exc:
                        problems.append(Problem(mapping.column, text, f"{item.label}: {exc}"))
                continue
            value: Value
            if not text:
                if mapping.blank_means is None:
                    self._check_date_alone(cells, mapping, problems)
                    continue
                value = mapping.blank_means
            else:
                try:
                    value = typed_value(item, text, mapping, self.export_date, self.date1904)
                except (ValueError, DateParseError) as exc:
                    problems.append(Problem(mapping.column, text, f"{item.label}: {exc}"))
                    continue
            observed_on = self.export_date
            if mapping.observed_on != "export_date":
                when_text = self.cell(cells, mapping.observed_on).strip()
                if not when_text:
                    problems.append(
                        Problem(mapping.observed_on, "", f"{item.label} の基準日が空欄 / the observation date is blank")
                    )
                    continue
                try:
                    observed_on = self._date(when_text, mapping.observed_style)
                except DateParseError as exc:
                    problems.append(Problem(mapping.observed_on, when_text, str(exc)))
                    continue
            found.append(_observation(item.id, value, observed_on))
        return found


def _condition(cell: str, want: str | list[str]) -> bool:
    return cell in want if isinstance(want, list) else cell == want


def _name_fields(prefix: str) -> Callable[[str], dict[str, object]]:
    def build(text: str) -> dict[str, object]:
        family, given = split_name(text)
        fields: dict[str, object] = {f"{prefix}full_name": text}
        if given is None:
            fields[f"{prefix}family_key"] = name_key(family)
        else:
            fields.update(
                {
                    f"{prefix}family_name": family,
                    f"{prefix}given_name": given,
                    f"{prefix}family_key": name_key(family),
                    f"{prefix}given_key": name_key(given),
                }
            )
        return fields

    return build


def _reading_fields(text: str) -> dict[str, object]:
    display = reading_display(text)
    parts = display.replace("\u3000", " ").split()
    if len(parts) >= 2:
        return {
            "reading": display,
            "family_reading_key": reading_key(parts[0]),
            "given_reading_key": reading_key("".join(parts[1:])),
        }
    return {"reading": display, "family_reading_key": reading_key(display)}


# Identifier fields stored as written, width-folded (_fold), under their own name: the catalogue's codes.
PLAIN_IDENTIFIERS = CODE_IDENTIFIERS


def identity_settings(manifest: Manifest, field: str, export_date: date, date1904: bool) -> object:
    """What an identity builder reads besides the cell: the manifest, the export date, the file's
    date system (see _identity_builders).

    Two files with the same settings build the same fields from the same text, so results can be
    shared between them.
    """
    if field == "birth_date":
        return manifest.date_style, export_date, date1904
    if field == "sex":
        return tuple(sorted(manifest.sex_values.items()))
    if field in _PROFILE_FIELDS:
        return manifest.profile
    return None


# Fields whose normalisation depends on the manifest's profile (Japanese or generic).
_PROFILE_FIELDS = ("address", "postal_code", "previous_address")


def _latin_text(text: str) -> str:
    """Generic profile: text compared as written, width- and case-folded, spaces collapsed."""
    return " ".join(_fold(text).casefold().split())


def _identity_builders(manifest: Manifest, export_date: date,
                       date1904: bool) -> dict[str, Callable[[str], dict[str, object]]]:
    style = manifest.date_style
    sex_values = manifest.sex_values

    def birth(text: str) -> dict[str, object]:
        born = _cached_date(text, style, date1904)
        if born > export_date:
            raise ValueError(
                f"生年月日 {born.isoformat()} が出力日（{export_date.isoformat()}）より後です"
                f" / birth date {born.isoformat()} after the export date"
            )
        return {"birth_date": born}

    def sex(text: str) -> dict[str, object]:
        folded = _fold(text)
        if folded not in sex_values:
            raise ValueError(f"性別の値が不正です（{', '.join(sex_values)}） / unknown sex code")
        return {"sex": sex_values[folded]}

    generic = manifest.profile == "generic"

    def address(text: str) -> dict[str, object]:
        # The Japanese normaliser reads 丁目・番地; on "8 stanley street" it would keep only "8".
        return {"address": text, "address_key": _latin_text(text) if generic else address_key(text).key}

    def postal(text: str) -> dict[str, object]:
        # Japanese postal codes have 7 digits; other countries' have their own shapes.
        return {"postal_code": _latin_text(text).replace(" ", "").upper() if generic else postal_code(text)}

    def previous_address(text: str) -> dict[str, object]:
        return {"previous_address_key": _latin_text(text) if generic else address_key(text).key}

    def plain(field: str) -> Callable[[str], dict[str, object]]:
        return lambda text: {field: _fold(text)}

    person = _name_fields("")

    def family(text: str) -> dict[str, object]:
        return {"family_name": text, "family_key": name_key(text)}

    def given(text: str) -> dict[str, object]:
        return {"given_name": text, "given_key": name_key(text)}

    def guardian(text: str) -> dict[str, object]:
        return {"guardian_name": text, "guardian_name_key": name_key(text)}

    return {
        **{field: plain(field) for field in PLAIN_IDENTIFIERS},
        "local_id": lambda text: {},
        "full_name": person,
        "family_name": family,
        "given_name": given,
        "full_reading": _reading_fields,
        "family_reading": lambda text: {"family_reading_key": reading_key(text)},
        "given_reading": lambda text: {"given_reading_key": reading_key(text)},
        "birth_date": birth,
        "sex": sex,
        "address": address,
        "postal_code": postal,
        "guardian_name": guardian,
        "guardian_reading": lambda text: {"guardian_reading_key": reading_key(text)},
        "previous_address": previous_address,
        "locality": lambda text: {"locality": _latin_text(text)},
        "region": lambda text: {"region": _latin_text(text)},
        "previous_name": lambda text: {"previous_name_key": name_key(text)},
    }

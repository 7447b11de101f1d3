"""``tsunagu manifest draft``: propose a manifest for an export nobody has described yet.

The proposal is read from the file's header and a sample of its rows: the encoding (UTF-8, UTF-8
with BOM or CP932), the header line (host systems often write a title line first), and for each
column the identifier field or catalogue item it most likely holds — by its name (Japanese or
English, and every column name the worked-example manifests use) and by the shape of its values
(ten-digit numbers, dates, 男/女, postcodes, katakana). Each guess carries its confidence as a YAML
comment, and the text says what a person must still decide (legal ground, retention, refresh).

No value of the file is written into the proposal: only shapes and counts, since the export holds
personal data and the proposal is printed and passed around.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tsunagu.catalog import Catalog, DataItem, default_catalog
from tsunagu.catalog.manifest import ItemMapping, packaged_manifests
from tsunagu.ingest.convert import _cached_date
from tsunagu.ingest.dates import DateParseError
from tsunagu.ingest.readers import UnreadableFileError, detect_encoding, read_xlsx, refuse_non_text

SAMPLE_ROWS = 200
HIGH, MEDIUM, LOW = "高", "中", "低"

# Column names per identifier field beyond those the worked-example manifests use (added from them).
_IDENTIFIER_NAMES: dict[str, tuple[str, ...]] = {
    "aza_number": ("宛名番号", "宛名コード", "住民コード", "個人コード", "住民番号", "atena", "resident id", "person id"),
    "household_number": ("世帯番号", "世帯コード", "household", "household id", "household number"),
    "full_name": ("氏名", "名前", "本人氏名", "児童氏名", "児童名", "子ども氏名", "name", "full name"),
    "family_name": ("姓", "氏", "surname", "family name", "last name"),
    "given_name": ("名", "given name", "first name", "forename"),
    "full_reading": ("カナ氏名", "フリガナ", "ふりがな", "氏名カナ", "氏名(カナ)", "かな氏名", "ヨミ", "kana", "name kana"),
    "family_reading": ("姓カナ", "セイ", "姓(カナ)"),
    "given_reading": ("名カナ", "メイ", "名(カナ)"),
    "birth_date": ("生年月日", "誕生日", "生年月日(和暦)", "date of birth", "dob", "birth date", "birthdate"),
    "sex": ("性別", "男女", "男女別", "sex", "gender"),
    "address": ("住所", "現住所", "所在地", "address", "street address", "address 1", "address_1"),
    "postal_code": ("郵便番号", "〒", "postcode", "postal code", "zip", "zip code"),
    "guardian_name": ("保護者氏名", "保護者名", "guardian", "guardian name", "parent name"),
    "guardian_reading": ("保護者ふりがな", "保護者カナ", "保護者フリガナ"),
    "guardian_aza_number": ("保護者宛名番号", "母宛名番号"),
    "school_code": ("学校コード", "学校番号", "school code", "school id"),
    "previous_address": ("異動前住所", "前住所", "previous address"),
    "previous_name": ("異動前氏名", "旧氏名", "旧姓", "previous name"),
}
# Column names per item beyond those the worked-example manifests use.
_ITEM_NAMES: dict[str, tuple[str, ...]] = {
    "school_class": ("組", "学級", "クラス", "学級名", "組名", "class", "class name", "homeroom"),
}
_LOCAL_ID_NAMES = ("児童生徒番号", "ケース番号", "受給者番号", "記録番号", "番号", "id", "record id", "rec id", "case id")
_BOOL_TOKENS: dict[str, bool] = {
    "有": True, "無": False, "あり": True, "なし": False, "○": True, "×": False, "はい": True, "いいえ": False,
    "1": True, "0": False, "true": True, "false": False, "yes": True, "no": False, "済": True, "未": False,
}
_SEX_VALUES: tuple[dict[str, str], ...] = (
    {"男": "M", "女": "F"}, {"男性": "M", "女性": "F"}, {"M": "M", "F": "F"}, {"m": "M", "f": "F"},
    {"1": "M", "2": "F"},  # ISO 5218 / JIS X 0303: 1 male, 2 female
)
_KATAKANA = re.compile(r"[\u30a0-\u30ff\uff66-\uff9f\s・ー]+")
_TEN_DIGITS = re.compile(r"\d{10}")
_POSTAL = re.compile(r"\d{3}-?\d{4}")
_DATE_IN_NAME = re.compile(r"(\d{8})(?=\.[A-Za-z]+$)")


def _key(text: str) -> str:
    """A column name folded for comparison: width, case, spaces, brackets and separators removed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-・()（）\[\]「」]", "", folded)


@dataclass
class ColumnShape:
    """What a column's sample values look like (no value kept)."""

    filled: int = 0
    blank: int = 0
    distinct: int = 0
    dates: int = 0
    ten_digits: int = 0
    postal: int = 0
    katakana: int = 0
    numbers: int = 0
    bools: int = 0
    sex: dict[str, str] | None = None

    def share(self, count: int) -> float:
        return count / self.filled if self.filled else 0.0

    def describe(self) -> str:
        if not self.filled:
            return "見本ではすべて空欄"
        kinds = [(self.dates, "日付"), (self.ten_digits, "10桁の数字"), (self.postal, "郵便番号の形"),
                 (self.katakana, "カタカナ"), (self.numbers, "数値"), (self.bools, "有無の値")]
        seen = [f"{label}{self.share(n):.0%}" for n, label in kinds if n]
        unique = "すべて異なる値" if self.distinct == self.filled else f"{self.distinct}種類の値"
        return f"見本{self.filled + self.blank}行中 空欄{self.blank}、{unique}" + (f"、{'・'.join(seen)}" if seen else "")


def _shape(values: list[str]) -> ColumnShape:
    shape = ColumnShape()
    filled = [unicodedata.normalize("NFKC", v).strip() for v in values]
    shape.blank = sum(1 for v in filled if not v)
    filled = [v for v in filled if v]
    shape.filled, shape.distinct = len(filled), len(set(filled))
    for v in filled:
        shape.ten_digits += bool(_TEN_DIGITS.fullmatch(v))
        shape.postal += bool(_POSTAL.fullmatch(v))
        shape.katakana += bool(_KATAKANA.fullmatch(v)) and not v.isspace()
        shape.bools += v.lower() in _BOOL_TOKENS
        try:
            float(v.replace(",", ""))
            shape.numbers += 1
        except ValueError:
            pass
        try:
            _cached_date(v, "auto")
            shape.dates += 1
        except (DateParseError, ValueError):
            pass
    distinct = set(filled)
    shape.sex = next((m for m in _SEX_VALUES if distinct and distinct <= set(m)), None)
    return shape


@dataclass
class Guess:
    kind: str  # "identifier" | "item" | "local_id"
    target: str  # identifier field or item id
    confidence: str
    why: str


@dataclass
class Sample:
    encoding: str
    encoding_note: str
    header_row: int
    header: list[str]
    rows: list[list[str]]
    format: str


@dataclass
class Draft:
    file: Path
    sample: Sample
    department: str
    identifiers: dict[str, tuple[str, Guess]] = field(default_factory=dict)  # field -> (column, guess)
    local_id: tuple[str, Guess] | None = None
    items: list[tuple[str, Guess, DataItem, str]] = field(default_factory=list)  # column, guess, item, extra YAML
    sex_values: dict[str, str] | None = None
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # column, what it looks like
    elsewhere: list[tuple[str, DataItem]] = field(default_factory=list)  # items held by another department


def read_sample(path: Path, limit: int = SAMPLE_ROWS) -> Sample:
    """The file's encoding, header line and first rows (a title line before the header is skipped).

    Lines keep their physical numbers: ``header_row`` counts blank lines as the readers do.
    """
    lines: list[tuple[int, list[str]]]
    if path.suffix.lower() == ".xlsx":
        table = read_xlsx(path, 1)
        lines = [(1, table.header), *((n + 1, cells) for n, cells in table.rows[: limit + 5])]
        encoding, note, fmt = "xlsx", table.encoding_note, "xlsx"
    else:
        data = path.read_bytes()[: 1 << 20]
        refuse_non_text(path, data)
        encoding, note = detect_encoding(data)
        reader = csv.reader(io.StringIO(data.decode(encoding, errors="replace"), newline=""))
        lines = []
        for cells in reader:
            if any(c.strip() for c in cells):
                lines.append((reader.line_num, cells))
            if len(lines) > limit + 5:
                break
        fmt = "csv"
    if not lines:
        raise UnreadableFileError(f"{path.name}: 見出し行がありません / no header row")
    at = _header_index([cells for _, cells in lines])
    header_row, header = lines[at]
    return Sample(encoding, note, header_row, [c.strip() for c in header], [c for _, c in lines[at + 1 : at + 1 + limit]],
                  fmt)


def _header_index(lines: list[list[str]]) -> int:
    """The first of the top lines with several cells whose width the next line shares (title lines have one cell)."""
    for i, line in enumerate(lines[:5]):
        cells = [c for c in line if c.strip()]
        if len(cells) >= 2 and (i + 1 >= len(lines) or len(lines[i + 1]) >= len(cells)):
            return i
    return 0


def _known_columns() -> tuple[dict[str, str], dict[str, ItemMapping], set[str]]:
    """Column names the worked-example manifests use: for identifiers, for items, and as local ids."""
    identifiers: dict[str, str] = {}
    items: dict[str, ItemMapping] = {}
    local: set[str] = set()
    for manifest in packaged_manifests().manifests.values():
        for name, column in manifest.identifiers.items():
            identifiers.setdefault(_key(column), name)
        for mapping in manifest.items:
            if not mapping.when:
                items.setdefault(_key(mapping.column), mapping)
        local.update(_key(c) for c in manifest.local_id)
    for name, columns in _IDENTIFIER_NAMES.items():
        for column in columns:
            identifiers[_key(column)] = name
    for item, columns in _ITEM_NAMES.items():
        for column in columns:
            items.setdefault(_key(column), ItemMapping(item=item, column=column))
    return identifiers, items, local | {_key(c) for c in _LOCAL_ID_NAMES}


def _fits(target: str, shape: ColumnShape) -> bool:
    """Whether the sample values could be this identifier field (blank columns fit anything)."""
    if not shape.filled:
        return True
    checks = {"birth_date": shape.share(shape.dates) >= 0.8, "sex": shape.sex is not None,
              "postal_code": shape.share(shape.postal) >= 0.8 or shape.share(shape.numbers) >= 0.8, "aza_number": shape.share(shape.numbers) >= 0.8,
              "guardian_aza_number": shape.share(shape.numbers) >= 0.8,
              "full_reading": shape.share(shape.katakana) >= 0.8 or shape.share(shape.dates) < 0.5}
    return checks.get(target, True)


def _by_shape(shape: ColumnShape, taken: set[str]) -> Guess | None:
    if not shape.filled:
        return None
    if "sex" not in taken and shape.sex is not None and shape.distinct <= 2 and not set(shape.sex) <= {"1", "2"}:
        return Guess("identifier", "sex", MEDIUM, "値が男女の区分の形")
    if "birth_date" not in taken and shape.share(shape.dates) >= 0.9 and shape.share(shape.numbers) < 0.5:
        return Guess("identifier", "birth_date", LOW, "値が日付（生年月日かどうかは列名から判断できません）")
    if "postal_code" not in taken and shape.share(shape.postal) >= 0.9 and shape.share(shape.numbers) < 0.9:
        return Guess("identifier", "postal_code", MEDIUM, "値が郵便番号の形（123-4567）")
    if "aza_number" not in taken and shape.share(shape.ten_digits) >= 0.9 and shape.distinct == shape.filled:
        return Guess("identifier", "aza_number", LOW, "値が重複のない10桁の数字（宛名番号の形）")
    if "full_reading" not in taken and shape.share(shape.katakana) >= 0.9 and shape.share(shape.numbers) == 0:
        return Guess("identifier", "full_reading", LOW, "値がカタカナ")
    return None


def _item_by_name(column: str, known_items: dict[str, ItemMapping], catalog: Catalog) -> Guess | None:
    key = _key(column)
    if key in known_items:
        return Guess("item", known_items[key].item, HIGH, "記入例の取込定義と同じ列名")
    for item in catalog.items.values():
        if key == _key(item.label) or key == _key(item.id):
            return Guess("item", item.id, HIGH, f"カタログの項目名「{item.label}」と一致")
    for item in catalog.items.values():
        label = _key(re.sub(r"（[^）]*）|\([^)]*\)", "", item.label))
        if len(key) >= 2 and len(label) >= 2 and (key in label or label in key):
            return Guess("item", item.id, MEDIUM, f"カタログの項目名「{item.label}」に近い")
    return None


def _yaml_map(values: dict[str, bool | int | float | str]) -> str:
    return "{" + ", ".join(f"{_q(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()) + "}"


def _values_for(item: DataItem, shape: ColumnShape, values: list[str],
                example: ItemMapping | None) -> tuple[str, str]:
    """Extra YAML for the mapping (a value map, present_means) and a note on how the sample fits."""
    distinct = {unicodedata.normalize("NFKC", v).strip() for v in values} - {""}
    if example is not None and example.present_means is not None:
        return f", present_means: {json.dumps(example.present_means)}", "；記入してある行を「あり」とする（記入例と同じ）"
    if example is not None and example.values and distinct <= set(example.values):
        return f", values: {_yaml_map(example.values)}", "；値の対応表は記入例と同じ"
    if item.value_type == "bool":
        if distinct and all(v.lower() in _BOOL_TOKENS for v in distinct):
            return f", values: {_yaml_map({v: _BOOL_TOKENS[v.lower()] for v in sorted(distinct)})}", ""
        return "", "；値の対応表 values を書いてください"
    if item.value_type == "code" and item.codes:
        codes = {unicodedata.normalize("NFKC", c) for c in item.codes}
        outside = len(distinct - codes)
        return "", f"；見本の値のうち{outside}種類がコード表にありません（values で対応づけてください）" if outside else ""
    if item.value_type in ("int", "float") and shape.filled and shape.share(shape.numbers) < 0.9:
        return "", "；数値でない値があります"
    if item.value_type == "date" and shape.filled and shape.share(shape.dates) < 0.9:
        return "", "；日付として読めない値があります"
    return "", ""


def propose(path: Path, catalog: Catalog | None = None) -> Draft:
    catalog = catalog or default_catalog()
    sample = read_sample(path)
    known_ids, known_items, local_names = _known_columns()
    columns = {name: [row[i] if i < len(row) else "" for row in sample.rows]
               for i, name in enumerate(sample.header) if name}
    shapes = {name: _shape(values) for name, values in columns.items()}
    identifiers: dict[str, tuple[str, Guess]] = {}
    item_guesses: list[tuple[str, Guess]] = []
    local_id: tuple[str, Guess] | None = None
    unmatched: list[str] = []
    for name, shape in shapes.items():
        key = _key(name)
        target = known_ids.get(key)
        if target is not None and target not in identifiers and _fits(target, shape):
            identifiers[target] = (name, Guess("identifier", target, HIGH, "列名が一致"))
            continue
        by_name = _item_by_name(name, known_items, catalog)
        if by_name is not None:
            item_guesses.append((name, by_name))
            continue
        if key in local_names and local_id is None:
            local_id = (name, Guess("local_id", "local_id", MEDIUM if shape.distinct == shape.filled else LOW,
                                    "列名がレコード番号の形"))
            continue
        unmatched.append(name)
    for name in list(unmatched):
        guess = _by_shape(shapes[name], set(identifiers))
        if guess is not None:
            identifiers[guess.target] = (name, guess)
            unmatched.remove(name)
    if local_id is None:
        for fieldname in ("aza_number", "guardian_aza_number"):
            if fieldname in identifiers:
                column = identifiers[fieldname][0]
                local_id = (column, Guess("local_id", "local_id", MEDIUM, f"{column}をレコードの鍵とする"))
                break
    departments = Counter(catalog.items[g.target].department for _, g in item_guesses)
    department = departments.most_common(1)[0][0] if departments else "resident_registry"
    draft = Draft(path, sample, department, identifiers, local_id)
    for name, guess in item_guesses:
        item = catalog.items[guess.target]
        if item.department != department:
            draft.elsewhere.append((name, item))
            continue
        example = known_items.get(_key(name))
        extra, note = _values_for(item, shapes[name], columns[name],
                                  example if example is not None and example.item == item.id else None)
        draft.items.append((name, Guess(guess.kind, guess.target, guess.confidence, guess.why + note), item, extra))
    if "sex" in identifiers:
        draft.sex_values = shapes[identifiers["sex"][0]].sex
    draft.unmatched = [(name, shapes[name].describe()) for name in unmatched]
    return draft


def _q(text: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def _source_id(path: Path) -> str:
    stem = _DATE_IN_NAME.sub("", path.name).rsplit(".", 1)[0]
    ident = re.sub(r"[^a-z0-9_]+", "_", unicodedata.normalize("NFKC", stem).lower()).strip("_")
    ident = re.sub(r"_+", "_", ident)
    return ident if re.match(r"^[a-z][a-z0-9_]*$", ident) else f"source_{ident}".rstrip("_") or "new_source"


def render(draft: Draft, catalog: Catalog | None = None) -> str:
    """The proposal as YAML text with comments, ready to edit and save under home/manifests/."""
    catalog = catalog or default_catalog()
    s = draft.sample
    path = draft.file
    dated = _DATE_IN_NAME.search(path.name)
    files = _DATE_IN_NAME.sub("*", path.name) if dated else path.name
    department = catalog.departments[draft.department]
    out = [
        "# 取込定義の案（tsunagu manifest draft が見出しと見本から推定したもの）。",
        "# 確度の低い行と「要記入」を直し、tsunagu manifest check で確かめてから home/manifests/ に置いてください。",
        f"# ファイル: {path.name} ／ 文字コード: {s.encoding_note} ／ 見出し行: {s.header_row} ／ 見本: {len(s.rows)}行",
        f"source: {_source_id(path)}  # データソースID（英小文字・数字・_）",
        f"department: {draft.department}  # {department.name}（対応づけた項目から推定: 確認してください）",
        f"label: {_q(_source_id(path))}  # 画面に出る名前（日本語で）",
        f"files: {_q(files)}",
    ]
    doubled = sorted({name for name in s.header if name and s.header.count(name) > 1})
    if doubled:
        out.append(f"# 注意: 見出しの列名{''.join(f'「{n}」' for n in doubled)}が重複しています。"
                   "このままでは取込で拒否されます（出力元で列名を直してください）")
    if not dated:
        out.append("# ファイル名に出力日（YYYYMMDD）がありません: 出力日を名前に含めてください（例: 名前_20261031.csv）")
    out += [f"format: {s.format}"]
    if s.format == "csv":
        out.append(f"encoding: {'cp932' if s.encoding == 'cp932' else 'utf-8'}")
    out += [f"header_row: {s.header_row}", "date_style: auto  # 和暦・西暦・Excelのシリアル値を読む"]
    if draft.local_id is None:
        out.append("local_id: []  # 要記入: 1行を指す列（宛名番号・ケース番号など）が見つかりませんでした")
    else:
        column, guess = draft.local_id
        out.append(f"local_id: [{_q(column)}]  # 確度: {guess.confidence}（{guess.why}）")
    out.append("identifiers:" if draft.identifiers else "identifiers: {}  # 要記入: 本人を識別する列が見つかりませんでした")
    for fieldname, (column, guess) in draft.identifiers.items():
        out.append(f"  {fieldname}: {_q(column)}  # 確度: {guess.confidence}（{guess.why}）")
    if draft.sex_values and draft.sex_values != {"男": "M", "女": "F"}:
        pairs = ", ".join(f"{_q(k)}: {v}" for k, v in draft.sex_values.items())
        out.append(f"sex_values: {{{pairs}}}  # 性別の値の読み方")
    out.append("items:" if draft.items else "items: []")
    for column, guess, item, extra in draft.items:
        out.append(f"  - {{item: {item.id}, column: {_q(column)}{extra}}}"
                   f"  # {item.label} ／ 確度: {guess.confidence}（{guess.why}）")
    for column, item in draft.elsewhere:
        out.append(f"  # 「{column}」は {item.label}（{item.department} の項目）に近いが、部署が違うため外しました")
    for column, described in draft.unmatched:
        out.append(f"  # 対応が見つからない列「{column}」: {described}")
    out += [
        "legal_use:  # 要記入: 目的外利用の根拠（個人情報保護法第69条第2項）",
        "  law: 個人情報の保護に関する法律",
        '  article: "69"',
        '  clause: "2"',
        '  item: "2"',
        "  reason: （要記入）この情報を子どもの支援のために使う相当の理由を書いてください",
        "retention_years: 5  # 要確認: 保存年限",
        "refresh: monthly  # 要確認: 出力の頻度（daily / weekly / monthly / quarterly / yearly）",
        "release: {}  # 要記入: 目的ごとに渡してよい項目（identifiers: [screening, ...] など）",
    ]
    return "\n".join(out) + "\n"

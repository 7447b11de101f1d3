"""Small export files for the ingest tests, written the way departments write them."""

from __future__ import annotations

from pathlib import Path

PREAMBLE = "※合成データ（架空の自治体 つなぐ市）SYNTHETIC DATA - not real persons"
JUKI_HEADER = "宛名番号,世帯番号,氏名,カナ氏名,生年月日,性別,続柄,住所,郵便番号,外国人区分,住民区分,異動日"


def write_csv(path: Path, header: str, rows: list[str], encoding: str = "cp932", bom: bool = False) -> Path:
    text = "\r\n".join([PREAMBLE, header, *rows]) + "\r\n"
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def juki_row(aza: str, name: str = "髙橋　太郎", kana: str = "ﾀｶﾊｼ ﾀﾛｳ", birth: str = "平成30年4月1日",
             sex: str = "男", status: str = "住民", moved: str = "") -> str:
    return f"{aza},200001,{name},{kana},{birth},{sex},子,つなぐ市中央町1丁目2番3号,123-4567,日本人,{status},{moved}"

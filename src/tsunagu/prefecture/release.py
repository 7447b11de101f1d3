"""What each municipality releases to the prefecture: its resident register's children, through its node.

The prefecture never opens a municipality's vault. Each municipality's home is opened through its
hub, and its register's node is asked for identifiers for a prefecture purpose (catalog/data/
purposes.yaml: ``prefecture_linkage`` or ``prefecture_statistics``) — the node releases what the
register's manifest releases for that purpose and logs the answer; the municipality's hub records
one audit entry per release. Only children (under 18 at the as-of date) leave this module: the
register answers for every resident, and the adults are dropped before anything else is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.link.records import shape_records
from tsunagu.prefecture.errors import PrefectureInputError
from tsunagu.privacy import AuditEvent, append
from tsunagu.vault.node import NodeRefusedError, NodeRequest

PURPOSES = ("prefecture_linkage", "prefecture_statistics")
CHILD_YEARS = 18  # 児童福祉法第4条: 児童 is a person under 18
FIELDS = ("aza_number", "family_key", "given_key", "family_reading_key", "given_reading_key", "birth_date", "sex",
          "address_key", "postal_code", "previous_address_key", "previous_name_key")
MOVE_ITEMS = ("move_out_date", "move_in_date")

# The columns a released child has, one row per child per municipality.
RELEASED_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.Utf8(), "municipality": pl.Utf8(), "aza_number": pl.Utf8(), "family_key": pl.Utf8(),
    "given_key": pl.Utf8(), "family_reading_key": pl.Utf8(), "given_reading_key": pl.Utf8(), "birth_date": pl.Date(),
    "sex": pl.Utf8(), "address_key": pl.Utf8(), "postal_code": pl.Utf8(),
    "previous_address_keys": pl.List(pl.Utf8()), "previous_family_keys": pl.List(pl.Utf8()),
    "moved_out": pl.Boolean(), "moved_in": pl.Boolean(),
}


@dataclass
class Release:
    """The children of every municipality, as released, and what each municipality is."""

    children: pl.DataFrame  # RELEASED_SCHEMA
    municipalities: dict[str, str]  # code → name
    notes: list[str] = field(default_factory=list)


def _under_18(birth: pl.Expr, as_of: date) -> pl.Expr:
    try:
        cutoff = as_of.replace(year=as_of.year - CHILD_YEARS)
    except ValueError:  # 29 February
        cutoff = as_of.replace(year=as_of.year - CHILD_YEARS, day=28)
    return birth > pl.lit(cutoff)


def _ask_home(home: Path, purpose: str, as_of: date, run_id: str) -> tuple[str, str, pl.DataFrame]:
    settings = load_settings(home)
    if not settings.is_initialised:
        raise PrefectureInputError(f"{home} は tsunagu のホームではありません（tsunagu init で作った市町村のホームを指定してください）")
    with Hub(settings) as hub:
        code, name = settings.municipality_code or "", settings.municipality_name or ""
        register = hub.manifests.register()
        if register is None:
            raise PrefectureInputError(f"{name}（{home}）: 住民記録（linkage.role: register）の取込定義がありません")
        node = hub.nodes().get(register.department)
        if node is None:
            raise PrefectureInputError(f"{name}（{home}）: 住民記録の部署 {register.department} のノードがありません")
        requester = f"prefecture:{purpose}:{run_id}"
        try:
            answer = node.identifiers(NodeRequest(requester=requester, role="system", purpose=purpose, fields=FIELDS))
            moves = node.items(NodeRequest(requester=requester, role="system", purpose=purpose, items=MOVE_ITEMS), as_of)
        except NodeRefusedError as exc:
            raise PrefectureInputError(f"{name}（{home}）が提供を拒否しました: {exc.reason}") from exc
        frame = answer.data
        history_sources = [m.source for m in hub.manifests.of_department(register.department)
                           if m.identity_of == register.source]
        children = _children(frame, register.source, history_sources, register.department, moves.data, code, as_of)
        with hub.unit() as session:
            append(session, AuditEvent(
                actor=requester, role="system", organisation="prefecture", purpose=purpose, action="prefecture.release",
                outcome="allowed", reason=f"県への提供（住民記録の子ども {children.height}人の識別情報）", items=("identifiers",)))
        return code, name, children


def _children(frame: pl.DataFrame, register: str, history_sources: list[str], department: str, moves: pl.DataFrame,
              code: str, as_of: date) -> pl.DataFrame:
    persons = shape_records(frame.filter(pl.col("source") == register), department)
    persons = persons.filter(pl.col("birth_date").is_not_null() & _under_18(pl.col("birth_date"), as_of))
    history = frame.filter(pl.col("source").is_in(history_sources))
    for column in ("previous_address_key", "previous_name_key"):
        if column not in history.columns:
            history = history.with_columns(pl.lit(None, dtype=pl.Utf8).alias(column))
    previous = history.group_by(pl.col("local_id").alias("aza_number")).agg(
        pl.col("previous_address_key").drop_nulls().unique().sort().alias("previous_address_keys"),
        pl.col("previous_name_key").drop_nulls().unique().sort().alias("previous_family_keys"))
    items = moves.select(pl.col("local_id").cast(pl.Utf8).alias("aza_number"), pl.col("item_id").cast(pl.Utf8)) \
        if moves.height else pl.DataFrame(schema={"aza_number": pl.Utf8, "item_id": pl.Utf8})
    out_ids = items.filter(pl.col("item_id") == "move_out_date")["aza_number"].implode()
    in_ids = items.filter(pl.col("item_id") == "move_in_date")["aza_number"].implode()
    return (
        persons.join(previous, on="aza_number", how="left")
        .with_columns(
            (pl.lit(code + ":") + pl.col("aza_number")).alias("key"), pl.lit(code).alias("municipality"),
            pl.col("aza_number").is_in(out_ids).alias("moved_out"), pl.col("aza_number").is_in(in_ids).alias("moved_in"),
            pl.col("previous_address_keys").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
            pl.col("previous_family_keys").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        )
        .unique(subset=["key"], keep="last", maintain_order=True)
        .select([pl.col(c).cast(t) for c, t in RELEASED_SCHEMA.items()])
    )


def release(homes: Sequence[Path], purpose: str, as_of: date) -> Release:
    """Ask every municipality's register for its children; two homes of one municipality are refused."""
    if purpose not in PURPOSES:
        raise PrefectureInputError(f"県への提供の利用目的ではありません: {purpose}")
    if len(homes) < 2:
        raise PrefectureInputError("市町村をまたぐ処理には2つ以上の市町村のホームが要ります")
    run_id = uuid.uuid4().hex[:8]
    frames: list[pl.DataFrame] = []
    names: dict[str, str] = {}
    for home in homes:
        code, name, children = _ask_home(Path(home), purpose, as_of, run_id)
        if code in names:
            raise PrefectureInputError(f"地方公共団体コード {code} のホームが2つあります（{names[code]} と {name}）")
        names[code] = name
        frames.append(children)
    return Release(pl.concat(frames), names)

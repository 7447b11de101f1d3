"""検索キー: what lets staff find a child by name, reading, birth date, 宛名番号 or class (組), without
the hub holding any of them.

The hub keeps no names (see ``link.models``); search still has to be fast at 100,000 children,
and asking every department's node for every name on each search is not. So a linkage run — which
has the identity records in memory anyway — writes one row per (person, search term), where the
term is a keyed hash (HMAC-SHA256, truncated to 128 bits) of a *match key*: the same lossy keys
linkage compares (``name_key`` folds variant kanji and width, ``reading_key`` folds hiragana to
katakana and small kana), a birth date, a 宛名番号. A search hashes the typed terms the same way and
looks them up. The key lives in the home (``keys/search.key``, 0600), not in the hub store, so a
copy of the store alone tells nobody a name; whole words only (no partial matches), which is the
price of that.

The class is an item of the school roster (``school_class``), not an identifier: the run asks the
nodes that hold it for its values (purpose: screening, as for the identifiers) and keys each pupil
by the school and the class together (``C001…`` and 2組), since 2組 alone names a class in every
school. The grade is not in the key: it is the hub's own (the screening result's), filtered on.

Only children are indexed (a record born within ``CHILD_YEARS`` of the run): search finds
children, and guardians' names would add rows and reveal adults to a query for nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from datetime import date

import polars as pl
from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.store.bulk import bulk_insert, indexes_rebuilt, large_cache, read_frame
from tsunagu.store.models import Base
from tsunagu.vault.node import Node, NodeRequest

SECRET_BYTES = 32
TOKEN_HEX = 32
CHILD_YEARS = 19  # under 18 at the run, and a year's margin for a late run
# One letter per kind of term: a name and a reading never collide, nor a date and a 宛名番号.
NAME, READING, BIRTH, AZA, CLASS = "n", "r", "b", "a", "k"
CLASS_ITEM = "school_class"


class SearchKey(Base):
    """One hashed search term of one person (see the module docstring)."""

    __tablename__ = "search_keys"
    __table_args__ = (Index("ix_search_keys_token", "token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(TOKEN_HEX))


def term_token(secret: bytes, kind: str, key: str) -> str:
    """The stored form of one term: the keyed hash of its kind and its match key."""
    return hmac.new(secret, f"{kind}\x1f{key}".encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def class_key(label: str) -> str:
    """One spelling per class: width folded, spaces dropped, a bare number or letter is a 組
    (2, ２, 2組 → 2組; a組 → A組); a named class (ひまわり学級) stays as written."""
    text = "".join(unicodedata.normalize("NFKC", label).split()).upper()
    if text.isdigit():
        return f"{int(text)}組"
    if len(text) == 1 and text.isascii() and text.isalpha():
        return f"{text}組"
    return text


def class_term(school_code: str, label: str) -> str:
    """The match key of a class: its school and its name (2組 alone is a class in every school)."""
    return f"{school_code}\x1f{class_key(label)}"


def _no_classes() -> pl.DataFrame:
    return pl.DataFrame(schema={"key": pl.Utf8, "class_label": pl.Utf8})


def gather_classes(nodes: Mapping[str, Node], manifests: ManifestSet, run_id: str) -> pl.DataFrame:
    """(key, class_label): each roster record's latest class, from the nodes holding the item. A node
    that refuses or fails leaves its pupils without a class key; the run goes on."""
    holders = sorted({m.department for m in manifests.manifests.values() if CLASS_ITEM in m.item_ids})
    request = NodeRequest(requester=f"hub:link:{run_id}", role="system", purpose="screening", items=(CLASS_ITEM,))
    frames = [_no_classes()]
    for department in holders:
        node = nodes.get(department)
        if node is None:
            continue
        try:
            answer = node.items(request, date.max)
        except Exception:  # a refusal or a node that is down costs the class keys, not the run
            continue
        data = answer.data
        if CLASS_ITEM in answer.refused or data.is_empty():
            continue
        order = [c for c in ("snapshot_date", "observed_on") if c in data.columns]
        frames.append(
            data.filter(pl.col("item_id") == CLASS_ITEM).sort(order)
            .select((pl.col("source") + ":" + pl.col("local_id").cast(pl.Utf8)).alias("key"),
                    pl.col("value_text").cast(pl.Utf8).alias("class_label"))
            .unique(subset=["key"], keep="last"))
    return pl.concat(frames)


def _class_terms(kids: pl.DataFrame, classes: pl.DataFrame) -> pl.DataFrame:
    """(key, kind, term) of each pupil's class at the school its record names."""
    pupils = kids.filter(pl.col("school_code").is_not_null()).join(classes, on="key", how="inner")
    terms = [class_term(s, c) if c else None
             for s, c in zip(pupils["school_code"].to_list(), pupils["class_label"].to_list(), strict=True)]
    return pupils.select("key", pl.lit(CLASS).alias("kind"), pl.Series("term", terms, dtype=pl.Utf8))


def _terms(records: pl.DataFrame, today: date, classes: pl.DataFrame | None = None) -> pl.DataFrame:
    """(key, kind, term) for every child's record: whole name, family and given name (and the same
    for the reading), birth date, 宛名番号."""
    since = date(today.year - CHILD_YEARS, today.month, min(today.day, 28))
    kids = records.filter(pl.col("birth_date").is_not_null() & (pl.col("birth_date") >= since))
    family, given = pl.col("family_key"), pl.col("given_key")
    family_r, given_r = pl.col("family_reading_key"), pl.col("given_reading_key")
    parts = [
        (NAME, pl.concat_str(family, given)), (NAME, family), (NAME, given),
        (READING, pl.concat_str(family_r, given_r)), (READING, family_r), (READING, given_r),
        (BIRTH, pl.col("birth_date").cast(pl.Utf8)), (AZA, pl.col("aza_number")),
    ]
    frames = [kids.select("key", pl.lit(kind).alias("kind"), expr.alias("term")) for kind, expr in parts]
    if classes is not None and not classes.is_empty():
        frames.append(_class_terms(kids, classes))
    return pl.concat(frames).filter(pl.col("term").is_not_null() & (pl.col("term").str.len_chars() > 0))


def write_search_keys(session: Session, records: pl.DataFrame, secret: bytes, today: date,
                      classes: pl.DataFrame | None = None) -> int:
    """Replace the search keys with this run's (every run sees every record); returns the rows written.
    ``classes``: (key, class_label) of the roster records (``gather_classes``)."""
    conn = session.connection()
    links = read_frame(conn, select(PersonLink.source, PersonLink.local_id, PersonLink.person_id),
                       {"source": pl.Utf8(), "local_id": pl.Utf8(), "person_id": pl.Utf8()})
    keyed = links.select((pl.col("source") + ":" + pl.col("local_id")).alias("key"), "person_id")
    terms = _terms(records, today, classes).join(keyed, on="key", how="inner").select("person_id", "kind", "term").unique()
    # Hashing the distinct terms once: many records (and many children) share a family name.
    distinct = terms.select("kind", "term").unique()
    tokens = [term_token(secret, k, t) for k, t in zip(distinct["kind"].to_list(), distinct["term"].to_list(),
                                                         strict=True)]
    hashed = distinct.with_columns(pl.Series("token", tokens, dtype=pl.Utf8))
    rows = terms.join(hashed, on=["kind", "term"]).select("person_id", "token").unique()
    table = SearchKey.__table__
    session.execute(delete(SearchKey))
    with large_cache(conn), indexes_rebuilt(conn, table, rows.height):  # type: ignore[arg-type]
        bulk_insert(conn, table, ("person_id", "token"), rows.rows())  # type: ignore[arg-type]
    return rows.height

"""学級（組）: the class a child is in, one rule wherever a child's school is shown.

The class is an item of the school roster (``school_class``), not something the hub keeps. It is
shown — on the face sheet of the child's page and of the household view, and on each row of the
search — when the user may read the schools' items at the class's sensitivity for that child (the
same ``visibility`` as the child page's items: role, relationship, purpose, holding department) and
the schools' node releases the item for the purpose (the node decides and logs its own answer). The
class shown is the latest roster's (by snapshot, then observed date), written one way
(``class_key``: ２ and 2 read 2組), so 「○○小学校 3年2組」 reads the same on every page.

The child page reads the class from the roster answer it already asked for (``latest_class``); the
household view and the search, which ask the schools for nothing else, ask for this one item
(``read_classes``), every child listed in one request to the roster's node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.link.searchkeys import CLASS_ITEM, class_key
from tsunagu.privacy import Subject, authorise
from tsunagu.vault.node import Node, NodeRequest

# (class as the roster wrote it, snapshot date, observed date)
ClassRow = tuple[object, date | None, date | None]


def latest_class(rows: Iterable[ClassRow]) -> str:
    """The latest roster's class in one spelling (2組), or empty when no row has one."""
    written = [(snapshot or date.min, observed or date.min, str(value)) for value, snapshot, observed in rows
               if value not in (None, "")]
    return class_key(max(written)[2]) if written else ""


def class_visible(catalog: Catalog, read: Callable[..., bool]) -> bool:
    """Whether ``read`` (the page's item visibility for one child) lets the user see the class."""
    item = catalog.items.get(CLASS_ITEM)
    return item is not None and read(item.sensitivity, item.department)


def class_sensitivity(catalog: Catalog) -> tuple[int, str]:
    """The class's sensitivity and holding department, as a decision recording its read names them."""
    item = catalog.items[CLASS_ITEM]
    return item.sensitivity, item.department


def read_classes(nodes: Mapping[str, Node], manifests: ManifestSet, session: Session, subject: Subject,
                 purpose: str, person_ids: Iterable[str]) -> dict[str, str]:
    """person → class, asked of the node of each roster holding the class for ``purpose``; the caller
    has decided that the user may see it (``class_visible``). A child on no roster, a node that
    refuses or is down, and a roster without the class leave the child out."""
    holders = {m.source: m.department for m in manifests.manifests.values() if CLASS_ITEM in m.item_ids}
    wanted = sorted(set(person_ids))
    if not holders or not wanted:
        return {}
    links = session.execute(select(PersonLink.person_id, PersonLink.source, PersonLink.local_id)
                            .where(PersonLink.person_id.in_(wanted))).all()
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=purpose, items=(CLASS_ITEM,))
    # One request per roster for every child listed (``Node.records``), not one per child: a search's
    # hundred children were a hundred node requests, each with its transaction and log entry.
    asked: dict[str, list[tuple[str, str]]] = {}
    for person_id, source, local_id in sorted(links):
        if nodes.get(holders.get(source, "")) is not None:
            asked.setdefault(source, []).append((person_id, local_id))
    rows: dict[str, list[ClassRow]] = {}
    for source, pairs in asked.items():
        try:
            answer = nodes[holders[source]].records(request, source, [local_id for _, local_id in pairs])
        except Exception:  # a refusal or a node that is down costs the classes, not the page
            continue
        # A record's rows are those of its local id, whichever of the department's sources holds them
        # (as ``Node.record`` answers one record).
        by_local: dict[str, list[ClassRow]] = {}
        for row in answer.data.iter_rows(named=True):
            if row.get("item_id") == CLASS_ITEM:
                by_local.setdefault(str(row["local_id"]), []).append(
                    (row["value_text"], row.get("snapshot_date"), row.get("observed_on")))
        for person_id, local_id in pairs:
            if local_id in by_local:
                rows.setdefault(person_id, []).extend(by_local[local_id])
    return {person_id: found for person_id, found in ((p, latest_class(r)) for p, r in rows.items()) if found}


def class_of_child(session: Session, subject: Subject, purpose: str, person_id: str, rel: str, *,
                   read: Callable[..., bool], catalog: Catalog, nodes: Mapping[str, Node], manifests: ManifestSet,
                   key: Ed25519PrivateKey | None = None) -> str:
    """The class of one child for a page that reads nothing else of the schools (the household view):
    decided and recorded as reading that item of the schools, as the child page records its items."""
    if not class_visible(catalog, read):
        return ""
    level, holder = class_sensitivity(catalog)
    decision = authorise(session, subject, "child.items.read", purpose, person_id=person_id, items=(CLASS_ITEM,),
                         relationship=rel, sensitivity=level, holder=holder, key=key)
    if not decision.allowed:
        return ""
    return read_classes(nodes, manifests, session, subject, purpose, [person_id]).get(person_id, "")

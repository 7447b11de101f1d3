"""個人情報ファイル簿 and the legal-basis register, generated from what the system runs on.

A register written by hand drifts from the system; one generated from the catalogue, the
manifests and the hub's own periods says what is actually held. One entry per source (each
department's export the hub reads through its node) and one per record type the hub itself
keeps (screening results, households, link decisions, support records, requests), with the
particulars the Act asks a file register to state (個人情報の保護に関する法律第74条・第75条):
name, holder, purpose, items, sources of collection, whether 要配慮個人情報 is included,
retention and regular provision. The catalogue's sensitivity 2 and 3 are this project's
要配慮 levels; the items behind the mark are listed so the officer can check them against
the legal definition (法第2条第3項) before publishing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import Manifest, ManifestSet
from tsunagu.csvout import write_rows
from tsunagu.privacy import Policy
from tsunagu.work.rights.corrections import IDENTITY_LABELS
from tsunagu.work.rights.retention import HubPeriods

HUB_HOLDER = "つなぐ ハブ（子ども支援データ連携）"
REFRESH_LABELS = {"daily": "毎日", "weekly": "毎週", "monthly": "毎月", "quarterly": "四半期ごと", "yearly": "毎年"}
SENSITIVE_LEVEL = 2


@dataclass(frozen=True)
class FileEntry:
    """One personal-information file (個人情報ファイル)."""

    name: str
    kind: str  # source / hub
    key: str  # source id or hub record type
    holder: str
    purpose: str
    items: tuple[str, ...]
    record_range: str
    collection: str
    legal_basis: str
    sensitive: bool
    sensitive_items: tuple[str, ...]
    retention: str
    provision: str


@dataclass(frozen=True)
class BasisEntry:
    source: str
    label: str
    holder: str
    clause: str
    reason: str
    consent: str
    item_bases: tuple[str, ...]


def _purposes(policy: Policy, manifest: Manifest) -> str:
    purposes = [p for p in manifest.release if p != "identifiers"]
    return "、".join(policy.purpose_label(p) for p in purposes) or "なし"


def _source_entry(policy: Policy, manifest: Manifest) -> FileEntry:
    catalog = policy.catalog
    items = [catalog.items[i] for i in sorted(manifest.item_ids) if i in catalog.items]
    department = catalog.departments[manifest.department].name
    bases = sorted({str(i.legal_basis) for i in items})
    shorter = sorted({f"{i.label} {i.retention_years}年" for i in items if i.retention_years < manifest.retention_years})
    sensitive = tuple(i.label for i in items if i.sensitivity >= SENSITIVE_LEVEL)
    identity = [IDENTITY_LABELS.get(f, f) for f in manifest.identifiers]
    subject = "世帯単位（世帯の状況が世帯の子どもに及ぶ）" if manifest.subject == "household" else "本人単位"
    identifiers_for = [policy.purpose_label(p) for p in manifest.release.get("identifiers", ())]
    return FileEntry(
        name=manifest.label, kind="source", key=manifest.source, holder=department,
        purpose=(f"{department}の所掌事務（{'、'.join(bases) or '各法令'}）。あわせて、支援が必要な子どもの早期把握と"
                 f"支援のための市内部の情報連携（{manifest.legal_use}）"),
        items=tuple([*identity, *(i.label for i in items)]),
        record_range=f"{department}の記録に記録された市内の子どもと世帯（{subject}）",
        collection=(f"{department}の業務システムから{REFRESH_LABELS.get(manifest.refresh, manifest.refresh)}出力"
                    f"（ファイル {manifest.files}）" + ("。本人の同意に基づく" if manifest.consent == "required" else "")),
        legal_basis="、".join(bases), sensitive=bool(sensitive), sensitive_items=sensitive,
        retention=f"出力日から{manifest.retention_years}年" + (f"（{'、'.join(shorter)}）" if shorter else ""),
        provision=(f"つなぐ（市の内部）へ部署のノードを通じて提供: {_purposes(policy, manifest)}"
                   + (f"。本人確認情報: {'、'.join(identifiers_for)}" if identifiers_for else "")),
    )


def _hub_entries(periods: HubPeriods) -> list[FileEntry]:
    entries = []
    for key, record in periods.records.items():
        entries.append(FileEntry(
            name=record.label, kind="hub", key=key, holder=HUB_HOLDER, purpose=record.purpose,
            items=tuple(record.items), record_range="名寄せされた市内の子ども（利用停止中の子どもを除く）",
            collection=record.collection, legal_basis="個人情報の保護に関する法律第69条第2項第2号（各データソースの記録による）",
            sensitive=record.sensitive, sensitive_items=tuple(record.items) if record.sensitive else (),
            retention=f"{record.years}年（{record.counted_from}から。{record.reference}）",
            provision="なし（市の内部で、アクセス方針に基づき利用）",
        ))
    return entries


def file_register(policy: Policy, manifests: ManifestSet, periods: HubPeriods) -> list[FileEntry]:
    """Every source (a file per department export) and every hub record type, in ``policy``'s words."""
    sources = [_source_entry(policy, m) for m in sorted(manifests.manifests.values(), key=lambda m: (m.department, m.source))]
    return [*sources, *_hub_entries(periods)]


def legal_basis_register(catalog: Catalog, manifests: ManifestSet) -> list[BasisEntry]:
    entries = []
    for m in sorted(manifests.manifests.values(), key=lambda m: (m.department, m.source)):
        items = [catalog.items[i] for i in sorted(m.item_ids) if i in catalog.items]
        entries.append(BasisEntry(
            m.source, m.label, catalog.departments[m.department].name, str(m.legal_use), m.legal_use.reason.strip(),
            "本人の同意が必要" if m.consent == "required" else "同意によらない（法第69条第2項）",
            tuple(f"{i.label}: {i.legal_basis}" for i in items),
        ))
    return entries


FILE_HEADER = ("個人情報ファイルの名称", "区分", "識別子", "保有する組織", "利用目的", "記録項目", "記録範囲",
               "記録情報の収集方法", "法的根拠", "要配慮個人情報", "要配慮に当たる項目", "保存期間", "経常的な提供先")
BASIS_HEADER = ("データソース", "名称", "保有部署", "目的外利用の根拠条項", "相当の理由", "同意", "各項目の法的根拠")


def write_file_register(handle: IO[str], entries: Sequence[FileEntry]) -> int:
    return write_rows(handle, FILE_HEADER, [
        (e.name, "部署のデータ" if e.kind == "source" else "ハブの記録", e.key, e.holder, e.purpose, "、".join(e.items),
         e.record_range, e.collection, e.legal_basis, "含む" if e.sensitive else "含まない", "、".join(e.sensitive_items),
         e.retention, e.provision) for e in entries])


def write_basis_register(handle: IO[str], entries: Sequence[BasisEntry]) -> int:
    return write_rows(handle, BASIS_HEADER, [
        (e.source, e.label, e.holder, e.clause, e.reason, e.consent, " / ".join(e.item_bases)) for e in entries])

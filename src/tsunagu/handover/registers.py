"""The hand-over in the registers: the 個人情報ファイル簿 entries for packages sent and received,
and one legal-basis entry per package kind, both generated from ``legal.yaml``."""

from __future__ import annotations

from tsunagu.handover.legal import KINDS, SECTION_LABELS, package_kinds
from tsunagu.work.rights.registers import HUB_HOLDER, BasisEntry, FileEntry

RETENTION = ("ケース記録として市区町村の文書管理規程で定める期間（要保護児童のケース記録は長期保存が一般的）。"
             "tsunagu retention の自動削除の対象外")


def _items(kind_id: str) -> tuple[str, ...]:
    kind = package_kinds().of(kind_id)
    return tuple(SECTION_LABELS[s] for s in kind.sections)


def file_entries() -> list[FileEntry]:
    kinds = package_kinds()
    sections = tuple(dict.fromkeys(label for k in KINDS for label in _items(k)))
    laws = "、".join(dict.fromkeys(law.split("（")[0] for k in KINDS for law in kinds.of(k).laws))
    provision = "; ".join(f"{kinds.of(k).label}: 転出先の市町村へ（{kinds.of(k).provision_basis}）" for k in KINDS)
    return [
        FileEntry(
            name="転居時の引継ぎ（送付したケース移管・情報提供）", kind="hub", key="handover_sent", holder=HUB_HOLDER,
            purpose="支援中・要対協登録などの子どもが転出したとき、転出先の市町村に支援を途切れさせずに引き継ぐため",
            items=("子どもの氏名・よみ・生年月日・性別・転出前の住所", *sections, "送付・受領・受理の経過"),
            record_range="転出した子どものうち、支援中・要対協登録・重点支援・未完了のつなぎのある子ども",
            collection="住民記録の異動から検知し、職員がケース移管または情報提供として作成（電子署名・送付先の鍵で暗号化）",
            legal_basis=laws, sensitive=True, sensitive_items=sections, retention=RETENTION, provision=provision,
        ),
        FileEntry(
            name="転居時の引継ぎ（他の市町村から受けたケース移管・情報提供、前住所地の健診・予防接種）", kind="hub",
            key="handover_received", holder=HUB_HOLDER,
            purpose="転入した子どもの支援と母子保健の事務を、前住所地の情報を踏まえて途切れなく行うため",
            items=("子どもの氏名・よみ・生年月日・性別・転出前の住所", *sections, "受領・照合・受理の経過"),
            record_range="他の市町村から引継ぎを受けた、転入した（または転入予定の）子ども",
            collection="信頼する自治体として登録した市町村から、電子署名付き・暗号化されたパッケージで受領",
            legal_basis=laws, sensitive=True, sensitive_items=sections, retention=RETENTION,
            provision="なし（受理の通知だけを送付元に返す）",
        ),
    ]


def basis_entries() -> list[BasisEntry]:
    kinds = package_kinds()
    entries = []
    for kind_id in KINDS:
        kind = kinds.of(kind_id)
        entries.append(BasisEntry(
            source=f"handover:{kind_id}", label=f"転居時の{kind.label}", holder=HUB_HOLDER,
            clause=kind.provision_basis, reason=f"{kind.when}。" + "、".join(kind.laws),
            consent="同意によらない（法令の定める事務のための他の地方公共団体への提供）",
            item_bases=tuple(f"{SECTION_LABELS[s]}: 送付する" + ("（記述を含む）" if kind.free_text else "（記述は含めない）")
                             for s in kind.sections),
        ))
    return entries

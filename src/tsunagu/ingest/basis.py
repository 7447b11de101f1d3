"""No screening on a source whose use has no recorded legal ground.

Using a department's data for screening is a use beyond the purpose it was collected for; APPI
art. 69(2) allows it only on a stated ground — for internal use or provision to another public
body, a 相当の理由 (objectively reasonable ground) that must be written down per use. Manifests
must carry ``legal_use``, but a blank or placeholder reason, or a clause without its article,
passes a schema; this check refuses them by name before any data is read.

It depends on the manifest model only: it belongs with the manifests, and the screening run (which
sits below the work layer) calls it before reading anything.
"""

from __future__ import annotations

import re

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.errors import RefusedError

MIN_REASON_CHARS = 10
APPI = "個人情報の保護に関する法律"
# A reason that only says that there is a reason is no reason.
_PLACEHOLDERS = re.compile(r"^(相当の理由(がある|あり)?|tbd|todo|未定|未記入|なし|-+|…+|\.+)$", re.IGNORECASE)


class NoLegalBasisError(RefusedError, RuntimeError):
    """Raised before screening when a source lacks a recorded ground; the message names the sources."""

    code = "no_legal_basis"
    status = 409


def basis_problems(manifests: ManifestSet) -> dict[str, str]:
    """Source → what is missing from its recorded ground (empty when every source is fine)."""
    problems: dict[str, str] = {}
    for source, manifest in sorted(manifests.manifests.items()):
        use = getattr(manifest, "legal_use", None)
        if use is None:
            problems[source] = "法的根拠（legal_use）が記録されていません"
            continue
        missing = [label for label, value in (("法令", use.law), ("条", use.article), ("項", use.clause))
                   if not str(value or "").strip()]
        if missing:
            problems[source] = f"法的根拠の{'・'.join(missing)}が記録されていません"
            continue
        reason = re.sub(r"\s+", "", str(use.reason or ""))
        if len(reason) < MIN_REASON_CHARS or _PLACEHOLDERS.match(reason):
            problems[source] = "相当の理由が具体的に書かれていません"
            continue
        if use.law.strip() == APPI and use.article.strip() == "69" and use.clause.strip() == "2" \
                and not str(use.item or "").strip():
            # Art. 69(2) has four items with different conditions; which one applies must be stated.
            problems[source] = "第69条第2項の何号によるかが記録されていません"
    return problems


def sources_without_basis(manifests: ManifestSet) -> list[str]:
    """The sources screening must refuse, sorted."""
    return sorted(basis_problems(manifests))


def refusal_message(problems: dict[str, str]) -> str:
    listed = "、".join(f"{source}（{problem}）" for source, problem in sorted(problems.items()))
    return (f"利用の法的根拠が記録されていないデータソースがあるため、スクリーニングを実行しません: {listed}。"
            "取込定義の legal_use（法令・条・項・号と相当の理由）を記録してください / "
            f"screening refused: no recorded legal basis for {', '.join(sorted(problems))}")


def require_basis(manifests: ManifestSet) -> None:
    """Raise NoLegalBasisError naming every source without a recorded ground."""
    problems = basis_problems(manifests)
    if problems:
        raise NoLegalBasisError(refusal_message(problems))

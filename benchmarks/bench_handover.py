"""A hand-over package's cost: size on the wire, time to seal (sign + encrypt + PDF) and to open
(verify + decrypt + verify), for a heavy case transfer (years of assessments, referrals and
contact records). Figures only — no test times anything.

Usage: .venv/bin/python benchmarks/bench_handover.py [--records 200] [--repeat 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey

from tsunagu.handover import envelope
from tsunagu.handover.legal import SECTION_LABELS, package_kinds
from tsunagu.handover.pdf import render_pdf


def content(records: int) -> dict[str, Any]:
    kind = package_kinds().of("case_transfer")
    note = "家庭訪問。母と面談し、生活状況と子どもの登校の様子を確認した。次回は学校と連携して状況を確認する。"
    return {
        "kind_label": kind.label, "from": {"code": "272205", "name": "つなぐ市"}, "to": {"code": "131016", "name": "みらい市"},
        "child": {"full_name": "佐藤　花子", "reading": "ｻﾄｳ ﾊﾅｺ", "birth_date": "2018-04-01", "sex": "F",
                  "address": "つなぐ市中央町1丁目2番3号"},
        "move": {"moved_on": "2026-12-01", "reasons": ["open_case", "yotaikyo"]}, "prepared_at": "2026-12-03T09:00:00+00:00",
        "prepared_by": {"name": "中村 センター", "role": "こども家庭センター職員"},
        "legal": {"provision_basis": kind.provision_basis, "laws": list(kind.laws)},
        "section_labels": [[s, SECTION_LABELS[s]] for s in kind.sections],
        "sections": {
            "summary": {"items": [{"label": "要保護児童対策地域協議会 登録", "value": "要支援児童", "observed_on": "2025-05-01"}],
                        "active_plans": 1},
            "assessments": [{"date": "2026-06-01", "decision": "支援する", "observations": ["登校・出欠の様子: やや心配"],
                             "rationale": note, "role": "こども家庭センター職員"}] * (records // 4),
            "plans": [{"created_on": "2026-06-02", "status": "支援中", "responsible_body": "こども家庭センター",
                       "goals": note, "next_review_on": "2027-01-15"}] * 4,
            "referrals": [{"resource": "学習支援教室", "status": "利用開始", "outcome": "", "since": "2026-06-10",
                           "note": note}] * (records // 4),
            "follow_ups": [{"due_on": "2026-07-01", "done": True, "note": note}] * (records // 2),
            "health_checkups": [{"label": "1歳6か月児健診", "value": "受診", "observed_on": "2019-10-05"}] * 4,
            "vaccinations": [{"label": "定期予防接種の未接種数", "value": "1", "observed_on": "2026-10-31"}],
        },
        "unavailable": {},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sender, box = Ed25519PrivateKey.generate(), PrivateKey.generate()
    data = content(args.records)
    header = envelope.Header("0" * 32, "case_transfer", "272205", "131016", "2026-12-03T09:00:00.000+00:00")
    pdf_s, seal_s, open_s = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        pdf = render_pdf(data)
        pdf_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        sealed = envelope.seal_package(header, data, pdf, sign_key=sender, recipient_box=box.public_key)
        seal_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        envelope.open_package(sealed, own_code="131016", sender_key=sender.public_key(), box_key=box)
        open_s.append(time.perf_counter() - started)
    figures = {"records": args.records, "repeat": args.repeat, "pdf_bytes": len(pdf), "envelope_bytes": len(sealed),
               "pdf_ms_median": round(statistics.median(pdf_s) * 1000, 1),
               "seal_ms_median": round(statistics.median(seal_s) * 1000, 1),
               "open_ms_median": round(statistics.median(open_s) * 1000, 1)}
    print(json.dumps(figures, ensure_ascii=False) if args.json else
          "\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()

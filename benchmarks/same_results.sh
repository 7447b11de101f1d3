#!/bin/bash
# Same links, review pairs, households and screening results under two code versions (issue 16).
#
#   benchmarks/same_results.sh BEFORE_TSUNAGU AFTER_TSUNAGU WORK [CHILDREN]
#
# BEFORE_TSUNAGU / AFTER_TSUNAGU: the `tsunagu` of each version (e.g. a `git worktree add --detach
# DIR COMMIT` with its own scripts/setup). The BEFORE version synthesises and ingests ONE home (it must
# be the older schema: the newer migrates it, not the reverse). Linkage: two copies of that ingested
# home, one linked by each version. Screening: two copies of the home linked by BEFORE, one screened by
# each (linkage ties depend on the random person ids, so screening is compared on one linked home).
# benchmarks/result_digests.py compares them; the exit status is 1 when they differ.
set -uo pipefail
BEFORE=$1; AFTER=$2; WORK=$3; CHILDREN=${4:-20000}
DIGESTS="$(cd "$(dirname "$0")" && pwd)/result_digests.py"
PY=python3  # result_digests.py needs the standard library only
mkdir -p "$WORK" && cd "$WORK" || exit 2
rm -rf synth h0 l_before l_after s_before s_after
"$BEFORE" synth --children "$CHILDREN" --seed 1 --out synth --json > synth.json
"$BEFORE" init --home h0 --name "つなぐ市（ベンチマーク）" --code 272205 > /dev/null
if [ -f synth/schools.yaml ]; then "$BEFORE" schools load synth/schools.yaml --home h0 > /dev/null; fi
"$BEFORE" ingest synth/exports --home h0 --json > ingest.json
cp -a h0 l_before && cp -a h0 l_after
"$BEFORE" link --home l_before --json > link_before.json
"$AFTER" link --home l_after --json > link_after.json
cp -a l_before s_before && cp -a l_before s_after
"$BEFORE" screen --home s_before --as-of 2026-12-07 --json > screen_before.json
"$AFTER" screen --home s_after --as-of 2026-12-07 --json > screen_after.json
status=0
"$PY" "$DIGESTS" l_before l_after || status=1
"$PY" "$DIGESTS" s_before s_after || status=1
exit $status

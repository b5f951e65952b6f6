#!/usr/bin/env bash
# make demo: the main job on a local polarity-fake — probe, validate, plan, apply — then the report.
set -euo pipefail
BIN=${BIN:-bin}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

out=$(mktemp)
"$BIN/polarity-fake" --addr 127.0.0.1:0 --fixture testdata/fixtures/integrations.json --quiet >"$out" &
fake=$!
trap 'kill $fake 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
url=$(head -n1 "$out")
[ -n "$url" ] || { echo "demo: polarity-fake did not start" >&2; exit 1; }

export POLARITY_URL=$url
export POLARITY_API_KEY=polarity-fake-api-key      # polarity-fake's default API key
export DEMO_ABUSEIPDB_KEY=demo-abuseipdb-key-0001   # a ${NAME} cell reads it; it never shows
report=reports/demo-$(date -u +%Y%m%dT%H%M%SZ)

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step polarity-bulk probe      # first contact: what works, before anything is changed
"$BIN/polarity-bulk" probe
step polarity-bulk validate examples/demo.csv
"$BIN/polarity-bulk" validate examples/demo.csv
step polarity-bulk plan examples/demo.csv --out "$report/plan.json"
"$BIN/polarity-bulk" plan examples/demo.csv --out "$report/plan.json"
step polarity-bulk apply --plan "$report/plan.json" --yes --report-dir "$report"
"$BIN/polarity-bulk" apply --plan "$report/plan.json" --yes --report-dir "$report"

printf '\nThe report is in %s:\n' "$report"
ls -1 "$report"
printf '\n%s\n' "--- $report/summary.md ---"
cat "$report/summary.md"
printf '\nOpen %s/report.html in a browser for the timeline and the table of integrations.\n' "$report"
# apply asks on a terminal; without one (CI, a pipe) it needs --yes, so the hint says it.
yes=
if ! { [ -t 0 ] && [ -t 2 ]; }; then yes=' --yes'; fi
printf 'Roll back with: polarity-bulk apply %s/backup.csv%s\n' "$report" "$yes"

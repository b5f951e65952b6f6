#!/usr/bin/env bash
# plan.sh: the pull-request half of polarity-rollout.yml, kept out of the YAML so that
# cmd/polarity-bulk/testdata/script/ci_workflow.txtar runs exactly these commands.
#
# Validates $POLARITY_CSV, plans it against the server and leaves plan.json, plan.md and the
# text diff (plan.txt) in $POLARITY_PLAN_DIR for the artifact and the pull-request comment.
# polarity-bulk itself appends the Markdown plan to $GITHUB_STEP_SUMMARY.
#
# Exit status: 0 when a plan was made, with or without changes (changes are what a pull
# request is for); otherwise polarity-bulk's: 1 runtime failure (server unreachable, auth
# refused), 2 usage error, 3 invalid CSV.
# Step outputs ($GITHUB_OUTPUT): changes=true|false, csv_sha256=<hex>, and plan_name, the
# artifact name fetch-plan.sh looks for: polarity-plan-<csv_sha256>, or
# polarity-plan-<POLARITY_TARGET>-<csv_sha256> when POLARITY_TARGET names one server of a fleet.
set -euo pipefail

csv=${POLARITY_CSV:?set POLARITY_CSV to the CSV file to roll out}
dir=${POLARITY_PLAN_DIR:-polarity-plan}
target=${POLARITY_TARGET:-}
# Extra flags for plan (and apply), e.g. "--ca-cert internal-ca.pem -v": split on spaces.
read -r -a flags <<<"${POLARITY_FLAGS:-}"

polarity-bulk version
polarity-bulk validate "$csv"

mkdir -p "$dir"
rm -f "$dir/plan.json" "$dir/plan.md" "$dir/plan.txt"
status=0
polarity-bulk plan "$csv" --detailed-exitcode --out "$dir/plan.json" --markdown "$dir/plan.md" \
	"${flags[@]}" >"$dir/plan.txt" || status=$?
cat "$dir/plan.txt"

# --detailed-exitcode: 0 = nothing to change, 2 = changes. 2 is also a usage error; only a
# plan that was written tells them apart.
case $status in
0) changes=false ;;
2) [ -f "$dir/plan.json" ] || exit 2
	changes=true ;;
*) exit "$status" ;;
esac

sha=$(sha256sum "$csv" | cut -d' ' -f1)
name=polarity-plan-${target:+$target-}$sha
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	printf 'changes=%s\ncsv_sha256=%s\nplan_name=%s\n' "$changes" "$sha" "$name" >>"$GITHUB_OUTPUT"
fi
echo "plan.sh: changes=$changes; the plan of $csv (SHA-256 $sha) is in $dir/; its artifact name is $name"

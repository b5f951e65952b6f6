#!/usr/bin/env bash
# apply.sh: the merge half of polarity-rollout.yml, kept out of the YAML so that
# cmd/polarity-bulk/testdata/script/ci_workflow.txtar runs exactly these commands.
#
# Applies exactly the plan reviewed on the pull request ($POLARITY_PLAN_DIR/plan.json, put there
# by fetch-plan.sh): polarity-bulk plans $POLARITY_CSV again and refuses, sending nothing,
# unless the CSV still hashes the same and every integration is still as the plan saw it.
# Writes the report to $POLARITY_REPORT_DIR and appends its summary.md to $GITHUB_STEP_SUMMARY.
#
# Exit status: polarity-bulk apply's: 0 all applied, 1 stale plan or at least one integration
# failed (the report says which), 2 usage error, 3 invalid CSV, 130 interrupted.
set -euo pipefail

csv=${POLARITY_CSV:?set POLARITY_CSV to the CSV file to roll out}
plan=${POLARITY_PLAN_DIR:-polarity-plan}/plan.json
report=${POLARITY_REPORT_DIR:-polarity-report}
read -r -a flags <<<"${POLARITY_FLAGS:-}"

summary() {
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"
	fi
}

polarity-bulk version
if [ ! -f "$plan" ]; then
	echo "apply.sh: no reviewed plan at $plan: nothing was sent" >&2
	echo "hint: a merge applies only the plan made on its pull request; see examples/github-actions/README.md" >&2
	summary "### polarity-bulk apply: no reviewed plan" "" "Nothing was sent: there is no reviewed plan for \`$csv\`."
	exit 1
fi

# What this job applies, as the pull request reviewed it: show renders the saved plan as plan
# printed it there, without a server (apply prints its own plan next, from the server as it is
# now; it refuses unless the two are the same).
echo "Applying the plan reviewed on the pull request ($plan):"
polarity-bulk show "$plan"
echo

status=0
# FILE is named: the CSV comes from this commit, never from the path recorded in the plan.
# --allow-unverified-values: the plan job may use its own read-only API key, and the ${NAME}
# digests in plan.json are keyed by the key that made them; this job cannot compare them
# then (it warns). With the same key in both jobs they are compared, and values that differ
# from the reviewed plan's are refused whatever this flag says.
polarity-bulk apply "$csv" --plan "$plan" --yes --report-dir "$report" --allow-unverified-values "${flags[@]}" || status=$?

if [ -f "$report/summary.md" ]; then
	summary "$(cat "$report/summary.md")"
else
	summary "### polarity-bulk apply: exit $status, no report" "" "The reason is in the job log."
fi
exit "$status"

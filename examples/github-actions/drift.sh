#!/usr/bin/env bash
# drift.sh: the nightly half of polarity-rollout.yml. Does the server still hold what
# $POLARITY_CSV (on main) says? Runs plan.sh (validate, then plan --detailed-exitcode, the plan
# in the job summary and in $POLARITY_PLAN_DIR), then reads plan.json: every option that the
# plan would change is drift (changed by hand on the server, or left behind by an apply that
# failed half-way), except a sensitive value the server does not show (a password it masks):
# that one cannot be compared, so it is counted as unverifiable and is not drift.
#
# Exit status: 0 no drift; 2 drift (as plan --detailed-exitcode: changes present), with the
# drifted options listed in the log and the job summary; otherwise plan.sh's (1 server
# unreachable or credentials refused, 2 usage error, 3 invalid CSV).
# Needs jq (on GitHub-hosted runners; apt-get install jq elsewhere).
set -euo pipefail

csv=${POLARITY_CSV:?set POLARITY_CSV to the CSV file to roll out}
dir=${POLARITY_PLAN_DIR:-polarity-plan}
here=$(dirname "$0")

summary() {
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"
	fi
}

command -v jq >/dev/null || {
	echo "drift.sh: jq is not installed: it reads plan.json" >&2
	echo "hint: apt-get install jq on a self-hosted runner (GitHub-hosted runners have it)" >&2
	exit 1
}

summary "## Drift check: the server against \`$csv\` on ${GITHUB_REF_NAME:-main}" ""
bash "$here/plan.sh"

plan=$dir/plan.json
# One line per option that would change: "<name> (<id>): <option> (value|permission|both)".
drifted=$(jq -r '
	.integrations[] as $i | $i.options[]
	| select(.action == "update")
	| select(.permission_changes or (.value_changes and (.current_unreadable | not)))
	| "\($i.name) (\($i.id)): \(.option_key) (" +
	  ([if .value_changes and (.current_unreadable | not) then "value" else empty end,
	    if .permission_changes then "permission" else empty end] | join(" and ")) + ")"' "$plan")
unverifiable=$(jq '[.integrations[].options[]
	| select(.action == "update" and .value_changes and .current_unreadable and (.permission_changes | not))]
	| length' "$plan")

note=
if [ "$unverifiable" -gt 0 ]; then
	note="$unverifiable sensitive $([ "$unverifiable" = 1 ] && echo value || echo values) the server does not show could not be compared (not counted as drift)."
fi

if [ -z "$drifted" ]; then
	echo "drift.sh: no drift: the server holds what $csv says.${note:+ $note}"
	summary "" "**No drift**: the server holds what \`$csv\` says.${note:+ $note}"
	exit 0
fi

n=$(printf '%s\n' "$drifted" | wc -l | tr -d ' ')
what="$n $([ "$n" = 1 ] && echo option differs || echo options differ)"
echo "::error title=polarity drift::$what from $csv on the server; the plan in the job summary shows what an apply would set back"
echo "drift.sh: drift: $what from $csv:" >&2
printf '  %s\n' "${drifted//$'\n'/$'\n'  }" >&2
echo "hint: if the server is right, change $csv to match in a pull request; if the CSV is right, run this workflow with action=plan, review, then action=apply" >&2
summary "" "**Drift**: $what from \`$csv\`:" "" "- ${drifted//$'\n'/$'\n'- }" "" \
	"If the server is right, change the CSV to match in a pull request; if the CSV is right, run the workflow with action=plan, review the plan, then action=apply.${note:+ $note}"
exit 2

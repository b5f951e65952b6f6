#!/usr/bin/env bash
# fetch-plan.sh: the merge half's first step in polarity-rollout.yml. Downloads the plan that
# was reviewed for exactly this content of $POLARITY_CSV into $POLARITY_PLAN_DIR.
#
# plan.sh's job uploads its plan as the artifact "polarity-plan-<SHA-256 of the CSV>" (with
# the server's name before the SHA-256 when POLARITY_TARGET is set, in a fleet), so the CSV on
# the merged commit names the plan made for it, whatever the merge method (merge, squash,
# rebase). No such artifact means this content of the CSV was never planned (main
# moved on after the plan, or the artifact expired): the step fails and nothing is applied.
#
# GitHub-specific: needs gh (on GitHub-hosted runners), GH_TOKEN and "actions: read".
set -euo pipefail

csv=${POLARITY_CSV:?set POLARITY_CSV to the CSV file to roll out}
dir=${POLARITY_PLAN_DIR:-polarity-plan}
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is set by GitHub Actions}
target=${POLARITY_TARGET:-}

sha=$(sha256sum "$csv" | cut -d' ' -f1)
name=polarity-plan-${target:+$target-}$sha

# The newest unexpired artifact of that name uploaded by a run on this repository's own
# branches: a pull request from a fork runs with its head repository set to the fork.
run=$(gh api "repos/$repo/actions/artifacts?name=$name&per_page=100" --jq '
	[.artifacts[]
	 | select(.expired | not)
	 | select(.workflow_run.head_repository_id == .workflow_run.repository_id)]
	| sort_by(.created_at) | last | .workflow_run.id // empty')
if [ -z "$run" ]; then
	echo "::error::no reviewed plan for $csv (SHA-256 $sha${target:+, server $target}): nothing will be applied"
	echo "hint: plan this content of $csv first: update the pull request's branch with main and let its plan run, or run this workflow with action=plan on main, review the plan in the run's summary, then run it with action=apply" >&2
	exit 1
fi

mkdir -p "$dir"
gh run download "$run" --repo "$repo" --name "$name" --dir "$dir"
echo "fetch-plan.sh: the plan reviewed in ${GITHUB_SERVER_URL:-https://github.com}/$repo/actions/runs/$run is in $dir/"

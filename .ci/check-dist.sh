#!/usr/bin/env bash
# check-dist.sh [DIR]: checks a GoReleaser release in DIR (default dist/, as `make dist` leaves
# it) the way the setup-polarity-bulk action will use it, and lists what it holds:
#   - checksums.txt lists exactly the six archives the action expects, and they match it;
#   - each archive holds the binary (and README.md) at its top;
#   - the action's install.sh, pointed at DIR as a file:// mirror, installs this machine's
#     archive, and the installed binary reports the release's version and commit;
#   - the version's major fits go.mod's module path (go install ...@<tag> works).
# Exit status 0 when all hold; 1 with the reason otherwise.
set -euo pipefail

dir=${1:-dist}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$dir"
dir=$(pwd)

die() {
	echo "check-dist: $*" >&2
	exit 1
}

[ -f metadata.json ] || die "$dir/metadata.json is missing: is $dir a GoReleaser dist directory?"
# metadata.json is one line of JSON written by GoReleaser: {"project_name":...,"version":"X",...}
version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' metadata.json)
commit=$(sed -n 's/.*"commit":"\([^"]*\)".*/\1/p' metadata.json)
[ -n "$version" ] || die "no version in $dir/metadata.json"
[[ $commit =~ ^[0-9a-f]{40}$ ]] || die "the release records the commit \"$commit\", not a git commit (a clone without a remote? make dist supplies one)"

# Go refuses a tag v2 and up of a module whose path does not end in /v2 (/v3, ...): such a
# release would install from the archives but break "go install ...@<tag>".
major=${version%%.*}
module=$(sed -n 's/^module //p' "$root/go.mod")
if [ "$major" -ge 2 ] && [ "${module##*/}" != "v$major" ]; then
	die "version v$version needs the module path $module/v$major (go.mod says $module): tag v1.x, or move the module to /v$major first"
fi

want=()
for p in darwin_amd64 darwin_arm64 linux_amd64 linux_arm64 windows_amd64 windows_arm64; do
	ext=tar.gz
	[ "${p%%_*}" = windows ] && ext=zip
	want+=("polarity-bulk_${version}_${p}.${ext}")
done
listed=$(awk '{ print $2 }' checksums.txt | sort)
expected=$(printf '%s\n' "${want[@]}" | sort)
[ "$listed" = "$expected" ] || die "checksums.txt lists
$listed
want
$expected"
sha256sum --check --quiet --strict checksums.txt || die "an archive does not match checksums.txt"

for a in "${want[@]}"; do
	case $a in
	*.zip) files=$(unzip -Z1 "$a" | sort | tr '\n' ' ') exe=polarity-bulk.exe ;;
	*) files=$(tar -tzf "$a" | sort | tr '\n' ' ') exe=polarity-bulk ;;
	esac
	[ "$files" = "README.md $exe " ] || die "$a holds \"$files\", want README.md and $exe"
done

# The action, with DIR as its mirror: <mirror>/<tag>/<file>, as on a release page.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mirror/v$version"
ln -s "$dir"/checksums.txt "$dir"/polarity-bulk_*.tar.gz "$dir"/polarity-bulk_*.zip "$work/mirror/v$version/"
env -u GITHUB_PATH -u GITHUB_OUTPUT -u GITHUB_ACTIONS \
	POLARITY_BULK_VERSION="v$version" POLARITY_BULK_RELEASE_URL="file://$work/mirror" \
	POLARITY_BULK_INSTALL_DIR="$work/bin" RUNNER_TEMP="$work" \
	bash "$root/.github/actions/setup-polarity-bulk/install.sh" >"$work/install.log" 2>&1 ||
	die "the setup action could not install v$version from $dir:
$(cat "$work/install.log")"
line=$("$work/bin/polarity-bulk" version)
case $line in
"polarity-bulk v$version (${commit:0:12}, go"*) ;;
*) die "the installed binary reports \"$line\", want polarity-bulk v$version (${commit:0:12}, ...)" ;;
esac

echo "check-dist: $dir holds polarity-bulk v$version (commit $commit):"
for f in "${want[@]}" checksums.txt; do
	wc -c <"$f" | awk -v f="$f" '{ printf "  %-58s %9d bytes  %6.2f MiB\n", f, $1, $1 / 1048576 }'
done
echo "check-dist: checksums.txt (SHA-256):"
sed 's/^/  /' checksums.txt
echo "check-dist: the setup action installed this machine's archive from $dir; it reports: $line"

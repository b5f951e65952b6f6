#!/usr/bin/env bash
# install.sh: the setup-polarity-bulk action (action.yml beside this file). Installs one
# release of polarity-bulk, as .goreleaser.yaml builds it:
#
#   <release-url>/<tag>/checksums.txt                          SHA-256 of every archive
#   <release-url>/<tag>/polarity-bulk_<version>_<os>_<arch>.tar.gz   (.zip on Windows)
#
# It downloads checksums.txt and the runner's archive, refuses the archive unless its SHA-256
# is the one checksums.txt lists, extracts the binary into the install directory, adds that
# directory to $GITHUB_PATH and runs `polarity-bulk version`.
#
# Environment (the action's inputs):
#   POLARITY_BULK_VERSION       the tag, e.g. v1.2.0 (required; "latest" is refused)
#   POLARITY_BULK_RELEASE_URL   default https://github.com/polarity-bulk/polarity-bulk/releases/download;
#                               http(s)://... or file:///... (a mirror)
#   POLARITY_BULK_INSTALL_DIR   default $RUNNER_TEMP/setup-polarity-bulk/<tag>
# Also read when set: RUNNER_OS, RUNNER_ARCH (else uname), RUNNER_TEMP, GITHUB_PATH,
# GITHUB_OUTPUT, GITHUB_ACTIONS.
#
# Exit status: 0 installed; 1 not installed (the message says why; nothing is left on PATH).
set -euo pipefail

default_url=https://github.com/polarity-bulk/polarity-bulk/releases/download
releases_page=https://github.com/polarity-bulk/polarity-bulk/releases

# fail MESSAGE [HINT]: the error as a GitHub annotation (in Actions) and on stderr; exit 1.
fail() {
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		printf '::error title=setup-polarity-bulk::%s\n' "$1"
	fi
	printf 'setup-polarity-bulk: %s\n' "$1" >&2
	if [ -n "${2:-}" ]; then
		printf 'hint: %s\n' "$2" >&2
	fi
	exit 1
}

warn() {
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		printf '::warning title=setup-polarity-bulk::%s\n' "$1"
	fi
	printf 'setup-polarity-bulk: warning: %s\n' "$1" >&2
}

# --- The version: a release tag, never "latest".
version=${POLARITY_BULK_VERSION:-}
case $version in
"")
	fail "no version given" "set the action's version input to a release tag, e.g. version: v1.2.0" ;;
latest | LATEST | Latest)
	fail "version \"latest\" is not accepted: pin a release tag" "a plan and its apply must run the same polarity-bulk (apply --plan refuses a plan made by another version); set version: to a tag from $releases_page" ;;
esac
# Only a semantic version: it becomes part of URLs and file names.
if ! [[ $version =~ ^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	fail "version \"$version\" is not a release tag such as v1.2.0" "releases are listed at $releases_page"
fi
tag=v${version#v}
plain=${tag#v} # GoReleaser's {{ .Version }}: the archive names carry the version without its v

# --- The platform: Actions' runner context, else uname (any other CI, or a test).
os=${RUNNER_OS:-$(uname -s)}
case $os in
Linux | linux) os=linux ;;
macOS | Darwin | darwin) os=darwin ;;
Windows | Windows_NT | MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) fail "no polarity-bulk release is built for the OS $os" "releases are built for Linux, macOS and Windows" ;;
esac
arch=${RUNNER_ARCH:-$(uname -m)}
case $arch in
X64 | x86_64 | amd64) arch=amd64 ;;
ARM64 | aarch64 | arm64) arch=arm64 ;;
*) fail "no polarity-bulk release is built for the CPU $arch" "releases are built for amd64 (x86-64) and arm64" ;;
esac
ext=tar.gz exe=polarity-bulk
if [ "$os" = windows ]; then
	ext=zip exe=polarity-bulk.exe
fi
archive=polarity-bulk_${plain}_${os}_${arch}.${ext}

base=${POLARITY_BULK_RELEASE_URL:-$default_url}
base=${base%/}
dest=${POLARITY_BULK_INSTALL_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/setup-polarity-bulk/$tag}

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/setup-polarity-bulk.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fetch NAME: download $base/$tag/NAME into $work/NAME. Prints nothing and returns 0 on
# success; on failure returns 1 and leaves the reason (e.g. "HTTP 404") in $why.
why=
fetch() {
	local url=$base/$tag/$1 code
	case $url in
	file://*)
		if ! cp -- "${url#file://}" "$work/$1" 2>/dev/null; then
			why="no such file"
			return 1
		fi
		return 0 ;;
	http://* | https://*) ;;
	*) fail "release-url $base is neither http(s):// nor file://" ;;
	esac
	# --retry covers timeouts and transient answers (408, 429, 5xx); a 404 is final.
	if ! code=$(curl --silent --show-error --location --retry 3 --retry-delay 2 \
		--connect-timeout 20 --max-time 300 --output "$work/$1" --write-out '%{http_code}' "$url"); then
		why="curl could not download it (see above)"
		return 1
	fi
	if [ "$code" != 200 ]; then
		why="HTTP $code"
		return 1
	fi
}

echo "setup-polarity-bulk: polarity-bulk $tag for $os/$arch from $base/$tag/"
if ! fetch checksums.txt; then
	fail "polarity-bulk $tag has no release at $base/$tag (checksums.txt: $why): nothing was installed" \
		"check the version: releases are listed at $releases_page (a release-url mirror needs <tag>/checksums.txt and the archives)"
fi
# checksums.txt: "<sha256>  <file>" per line (sha256sum's format; "*" marks binary mode).
want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/checksums.txt")
if [ -z "$want" ]; then
	fail "release $tag has no archive for $os/$arch: $archive is not listed in its checksums.txt" \
		"the release's checksums.txt lists what it has; releases are built for linux, darwin and windows on amd64 and arm64"
fi
if ! [[ $want =~ ^[0-9a-f]{64}$ ]]; then
	fail "checksums.txt of $tag does not hold one SHA-256 for $archive (found \"$want\"): nothing was installed"
fi
if ! fetch "$archive"; then
	fail "could not download $base/$tag/$archive ($why): nothing was installed" \
		"checksums.txt of $tag lists $archive; try again, or check the release-url mirror"
fi

if command -v sha256sum >/dev/null; then
	got=$(sha256sum "$work/$archive" | cut -d' ' -f1)
elif command -v shasum >/dev/null; then
	got=$(shasum -a 256 "$work/$archive" | cut -d' ' -f1)
else
	fail "neither sha256sum nor shasum is installed: the archive cannot be verified, so it is not installed"
fi
if [ "$got" != "$want" ]; then
	fail "checksum mismatch for $archive: checksums.txt of $tag says SHA-256 $want, the download has $got: not installed" \
		"the archive is not the one released (a broken download, a proxy or mirror serving another file, or tampering); do not use it"
fi
echo "setup-polarity-bulk: $archive: SHA-256 $got, as checksums.txt lists it"

# Only the binary is taken from the archive (never a path chosen by the archive).
mkdir -p "$work/x"
case $ext in
tar.gz)
	tar -xzf "$work/$archive" -C "$work/x" "$exe" 2>/dev/null || fail "$archive holds no $exe at its top" ;;
zip)
	if command -v unzip >/dev/null; then
		unzip -q -o "$work/$archive" "$exe" -d "$work/x" || fail "$archive holds no $exe at its top"
	else
		# Windows runners without unzip: PowerShell's Expand-Archive (the whole archive).
		powershell -NoProfile -NonInteractive -Command \
			"Expand-Archive -LiteralPath '$(cygpath -w "$work/$archive")' -DestinationPath '$(cygpath -w "$work/x")'" ||
			fail "could not extract $archive"
		[ -f "$work/x/$exe" ] || fail "$archive holds no $exe at its top"
	fi ;;
esac

mkdir -p "$dest"
rm -f "$dest/$exe"
mv "$work/x/$exe" "$dest/$exe"
chmod 0755 "$dest/$exe"

if ! line=$("$dest/$exe" version); then
	rm -f "$dest/$exe"
	fail "the installed $exe does not run on this runner ($os/$arch): not installed"
fi
echo "$line"
case $line in
"polarity-bulk $tag "*) ;;
*) warn "the binary of release $tag reports \"$line\", not polarity-bulk $tag" ;;
esac

if [ -n "${GITHUB_PATH:-}" ]; then
	echo "$dest" >>"$GITHUB_PATH"
	echo "setup-polarity-bulk: $dest is on PATH for the next steps"
else
	echo "setup-polarity-bulk: installed $dest/$exe (add $dest to PATH)"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	printf 'path=%s\nversion=%s\n' "$dest/$exe" "$line" >>"$GITHUB_OUTPUT"
fi

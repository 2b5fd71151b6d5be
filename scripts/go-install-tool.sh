#!/usr/bin/env bash
# go-install-tool.sh DEST_DIR NAME PACKAGE VERSION [--if-missing]
#
# Installs PACKAGE@VERSION (a Go main package) as DEST_DIR/NAME, unless that
# binary already exists and was built from VERSION of its module (checked with
# `go version -m`, so no tool-specific --version flag is needed).
#
# With --if-missing an existing binary is always kept (a version mismatch only
# prints a warning): used for the Temporal CLI, which takes minutes to build and
# may be a symlink to a copy found on PATH.
set -euo pipefail

if [[ $# -lt 4 ]]; then
	echo "usage: $0 DEST_DIR NAME PACKAGE VERSION [--if-missing]" >&2
	exit 2
fi
dest=$1 name=$2 pkg=$3 version=$4 mode=${5:-}
bin="$dest/$name"
go=${GO:-go}

# installed_version prints the main-module version recorded in a Go binary
# ("" when the file is not a Go binary, e.g. a packaged temporal).
installed_version() {
	"$go" version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

if [[ -x "$bin" ]]; then
	have=$(installed_version "$bin")
	if [[ "$have" == "$version" ]]; then
		exit 0
	fi
	if [[ "$mode" == "--if-missing" ]]; then
		if [[ -n "$have" ]]; then
			echo "warning: $bin is $have, not the pinned $version (delete it to rebuild)" >&2
		fi
		exit 0
	fi
	echo "$name: replacing ${have:-unknown version} with $version"
fi

mkdir -p "$dest"
dest_abs=$(cd "$dest" && pwd)
start=$SECONDS
echo "installing $name $version into $dest …"
# Install into a temporary GOBIN first so an interrupted build never leaves a
# half-written binary where the "is it installed?" check would find it.
tmp=$(mktemp -d "$dest_abs/.install-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" "$go" install "$pkg@$version"
built="$tmp/$(basename "$pkg")"
[[ -f "$built" ]] || built="$tmp/$(basename "$pkg").exe"
mv -f "$built" "$bin"
echo "installed $name $version in $((SECONDS - start))s"

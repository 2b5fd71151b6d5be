#!/usr/bin/env bash
# check-gofmt.sh: fails, listing them, when Go files in the repository are not
# gofmt-formatted. Walks the tree (not `git ls-files`) so files not yet added
# to git are checked too; local tool and dependency directories are skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mapfile -d '' files < <(find . \( -path ./.dev -o -path ./bin -o -path ./node_modules -o -path ./.git -o -path ./vendor \) -prune \
	-o -name '*.go' -type f -print0)
(( ${#files[@]} )) || exit 0

unformatted=$(gofmt -l "${files[@]}")
if [[ -n "$unformatted" ]]; then
	echo "these files are not gofmt-formatted (run gofmt -w on them):" >&2
	sed 's/^/  /' <<<"$unformatted" >&2
	exit 1
fi

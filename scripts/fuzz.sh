#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 20s).
# go test fuzzes one target per run, so each target gets its own run.
# `scripts/fuzz.sh -l` only lists the targets, one "package target" a line.
set -euo pipefail
cd "$(dirname "$0")/.."

go="${GO:-go}"
fuzztime="${FUZZTIME:-20s}"

targets() {
	find . \( -path './.*' -o -path ./gen -o -name testdata \) -prune -o \
		-type f -name '*_test.go' -print0 |
		xargs -0 grep -H -o -E '^func Fuzz[A-Za-z0-9_]*\(' |
		sed -E 's#^(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' |
		sort -u
}

list=$(targets)
if [ -z "$list" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
if [ "${1:-}" = "-l" ]; then
	echo "$list"
	exit 0
fi

# The list comes in on fd 3 so nothing a test runs can read it from stdin.
while read -r pkg name <&3; do
	echo "fuzz: $pkg $name ($fuzztime)"
	"$go" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done 3<<<"$list"

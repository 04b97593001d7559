#!/usr/bin/env bash
# Checks that the API in proto/ has no breaking change (buf's FILE rules)
# against the API at a base commit: usage buf-breaking.sh <commit>.
#
# buf cannot build the base straight from git: the googleapis protos the
# API imports are fetched into .cache, never committed. So the base's
# proto/ and buf.yaml are exported to a scratch directory, given the same
# googleapis files, and compared against as a workspace of its own.
set -euo pipefail
base=${1:?usage: $0 <base commit>}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  echo "buf breaking: base $base is not in this clone (a shallow clone?); not checked" >&2
  exit 0
fi
./scripts/fetch-googleapis.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive "$base" buf.yaml proto | tar -x -C "$work"
mkdir -p "$work/.cache"
cp -r .cache/googleapis "$work/.cache/googleapis"
buf breaking --against "$work"
echo "buf breaking: no breaking change against $(git rev-parse --short "$base")"

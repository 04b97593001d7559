#!/usr/bin/env bash
# Fetches the googleapis protos the API imports (longrunning, rpc, api) from
# the npm package google-proto-files, which exists to ship them, into
# .cache/googleapis. They are never committed: their Go code already lives in
# cloud.google.com/go/longrunning and google.golang.org/genproto.
set -euo pipefail
version=6.0.1
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/googleapis
stamp=$dest/.version
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "google-proto-files@$version" >/dev/null)
# Only the files the API needs and what they import, so that the module
# compiles without the rest of googleapis.
files=(
  google/api/annotations.proto
  google/api/client.proto
  google/api/field_behavior.proto
  google/api/http.proto
  google/api/launch_stage.proto
  google/longrunning/operations.proto
  google/rpc/code.proto
  google/rpc/error_details.proto
  google/rpc/status.proto
)
tar -xzf "$work"/google-proto-files-"$version".tgz -C "$work" "${files[@]/#/package/}"
rm -rf "$dest"
for f in "${files[@]}"; do
  mkdir -p "$dest/$(dirname "$f")"
  cp "$work/package/$f" "$dest/$f"
done
echo "$version" >"$stamp"

#!/usr/bin/env bash
# Builds Palisade's container image with podman from binaries built here:
#   scripts/build-image.sh [TAG]        (default localhost/palisade:$VERSION)
# VERSION (default: git describe, else dev) and REVISION (default: the
# commit) go into the binaries (palisade --version) and the image labels.
# PODMAN names the builder (podman, or buildah/docker with the same flags).
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
PODMAN="${PODMAN:-podman}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
REVISION="${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
TAG="${1:-localhost/palisade:${VERSION}}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if ! command -v "$PODMAN" >/dev/null; then
	echo "build-image: $PODMAN not found (apt-get install -y podman)" >&2
	exit 1
fi
if [ ! -s "$CA_BUNDLE" ]; then
	echo "build-image: no CA bundle at $CA_BUNDLE (apt-get install -y ca-certificates, or set CA_BUNDLE)" >&2
	exit 1
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
pkg=github.com/palisadehq/palisade/internal/buildinfo
CGO_ENABLED=0 GOOS=linux "$GO" build -trimpath \
	-ldflags "-s -w -X $pkg.Version=$VERSION -X $pkg.Revision=$REVISION" \
	-o "$ctx/" ./cmd/palisade ./cmd/palisadectl
cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"

# --layers=false: no intermediate images left behind for each step.
"$PODMAN" build --quiet --layers=false -f deploy/image/Containerfile \
	--build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
	--label org.opencontainers.image.created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	-t "$TAG" "$ctx" >/dev/null
echo "$TAG"

#!/usr/bin/env bash
# Installs the standalone nats-server, at the version go.mod requires, into
# the tools bin ($PALISADE_TOOLS_BIN, else ./.bin), once: a binary of that
# version already there is kept. The deploy/nats tests start it when they
# find it; without it they run the in-process server only. CI calls this;
# `make run` and `make test` never do.
set -euo pipefail
cd "$(dirname "$0")/.."

go="${GO:-go}"
bin="${PALISADE_TOOLS_BIN:-$PWD/.bin}"
version="$("$go" list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2)"
stamp="$bin/.nats-server-$version"

if [[ -x "$bin/nats-server" && -f "$stamp" ]]; then
	exit 0
fi
mkdir -p "$bin"
GOBIN="$bin" "$go" install "github.com/nats-io/nats-server/v2@$version"
rm -f "$bin"/.nats-server-*
touch "$stamp"

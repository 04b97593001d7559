# Palisade. `make run` starts everything on the embedded default and walks
# through the seed lab; `make test` runs every test; `make help` lists the
# targets.

# Every recipe runs under bash with strict flags: a failing command, an
# unset variable or a failing stage of a pipe fails the target.
SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

GO      ?= go
# Tools (buf, protoc-gen-go, protoc-gen-go-grpc, golangci-lint) live here,
# never on the path of `make run` or `make test`.
BIN     ?= $(CURDIR)/.bin
BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
PROTOC_GEN_GRPC_VERSION := v1.6.2
GOLANGCI_LINT_VERSION  := v2.15.0
# ghz, the gRPC load generator of the front end's benchmark.
GHZ_VERSION            := v0.93.0
# The API as last published: `make breaking` fails on any change to
# proto/ that would break a client built against it. Move it forward only
# together with a release.
API_BASE ?= d8d62ac8397f1d7cdae71ef10b072d0d338d9f9a
# How long `make fuzz` spends on each fuzz target.
FUZZTIME ?= 20s

GEN_TOOLS := $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc

# The TypeScript client (clients/typescript): its npm packages, pinned by
# package-lock.json, and its generated code, committed like gen/.
TS_DIR      := clients/typescript
TS_GEN      := $(TS_DIR)/gen
TS_PACKAGES := $(TS_DIR)/node_modules/.package-lock.json

export PATH := $(BIN):$(PATH)

.PHONY: all help build run test test-short test-race chaos fuzz bench bench-frontend \
	lint fmt-check vet golangci-lint buf-lint breaking \
	generate check-generated typescript-check tools clean image manifests-check cluster

all: build

## help: this list.
help:
	@echo "make [target]   (no target: build)"
	@awk '/^## [A-Za-z0-9_.-]+: / { sub(/^## /, ""); name = $$0; sub(/:.*/, "", name); \
		sub(/^[^:]*: /, ""); printf "  %-16s %s\n", name, $$0; next } \
		/^## / { sub(/^## /, ""); printf "  %-16s %s\n", "", $$0 }' $(MAKEFILE_LIST)

# What `palisade --version` and the image labels say of the build.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/palisadehq/palisade/internal/buildinfo.Version=$(VERSION) \
	-X github.com/palisadehq/palisade/internal/buildinfo.Revision=$(REVISION)

## build: bin/palisade and bin/palisadectl.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

## manifests-check: render deploy/kubernetes (kustomize) and check every object against Kubernetes' types
## and palisade's flags, offline (deploy/validate is a module of its own, to keep its dependencies out of go.mod).
manifests-check:
	$(GO) build -o bin/ ./cmd/palisade
	cd deploy/validate && $(GO) vet ./... && $(GO) test -count=1 ./... && $(GO) run . -palisade ../../bin/palisade

## cluster: three nats-server processes from deploy/nats (TLS, a key per role), two api and three worker
## processes configured as deploy/kubernetes, the seed lab and a rollout with a NATS node killed and restarted.
## (make test runs a shorter rollout of it.) The processes' logs stay in .cluster/.
cluster:
	PALISADE_TOOLS_BIN=$(BIN) GO=$(GO) ./scripts/install-nats-server.sh
	@rm -rf .cluster; rc=0; PALISADE_TOOLS_BIN=$(BIN) PALISADE_CLUSTER_LOGS=$(CURDIR)/.cluster \
	$(GO) test -count=1 -v -run '^TestCluster$$' -timeout 15m ./deploy/cluster/ -cluster.full > .cluster.log 2>&1 || rc=$$?; \
	sed -n 's/^ *cluster_test.go:[0-9]*: cluster /cluster /p; /^\(--- \)\?FAIL/p; /^ok /p' .cluster.log; \
	if [ $$rc -ne 0 ]; then echo "cluster: FAILED (see .cluster.log and .cluster/)"; fi; exit $$rc

## image: the container image localhost/palisade:$(VERSION) (podman build of static binaries built here).
image:
	GO=$(GO) VERSION=$(VERSION) REVISION=$(REVISION) ./scripts/build-image.sh

## run: palisade serve plus the seed lab through palisadectl; Ctrl-C stops it.
run: build
	./scripts/run-demo.sh

## test: unit, integration and end-to-end tests (real NATS, real gRPC, the local EC2 endpoint).
test:
	$(GO) test -count=1 -timeout 15m ./...

## test-short: the quick tests only (go test -short skips the long ones).
test-short:
	$(GO) test -short -count=1 ./...

## test-race: the tests under the race detector, with -short: the long chaos scenarios
## drive worker processes the detector cannot see into, and its slowdown only starves their timing.
test-race:
	$(GO) test -race -short -count=1 -timeout 30m ./...

## chaos: every fault scenario at full size, one line of figures each; fails if an invariant broke.
## The whole log stays in .chaos.log.
chaos:
	@rc=0; $(GO) test -count=1 -v -run . -timeout 30m ./chaos/ -chaos.full > .chaos.log 2>&1 || rc=$$?; \
	grep -E '^chaos |^(--- )?FAIL' .chaos.log || true; \
	if [ $$rc -ne 0 ]; then echo "chaos: FAILED (see .chaos.log)"; fi; exit $$rc

## fuzz: each fuzz target for FUZZTIME (default 20s; make fuzz FUZZTIME=5m); scripts/fuzz.sh -l lists them.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## bench: benchmarks with the figures quoted in the README (about 20 minutes:
## the comparison with the AWS CLI and SDK loops waits on EC2's rate limits;
## the fleet rollout and accept-versus-raw benchmarks run once each, timed
## inside; the list pages fill a store of 100,000 operations first).
bench: $(BIN)/ghz
	PALISADE_TOOLS_BIN=$(BIN) $(GO) test -run '^$$' -bench . -benchtime 3s -count 1 -timeout 60m ./ec2sim/ ./e2e/ \
		./internal/operations/ ./internal/rollout/ ./internal/policy/ ./internal/metrics/

## bench-frontend: the front end's accept rate against a raw JetStream publish, with the Go load
## generator and with ghz (installed into BIN first), with and without an fsync per write.
bench-frontend: $(BIN)/ghz
	PALISADE_TOOLS_BIN=$(BIN) $(GO) test -run '^$$' -bench 'AcceptVsRaw|AcceptGhz' -benchtime 1x -count 1 ./e2e/

## lint: fmt-check, vet, golangci-lint and buf-lint.
lint: fmt-check vet golangci-lint buf-lint

## fmt-check: fail when a Go file outside gen/ needs gofmt.
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## vet: go vet.
vet:
	$(GO) vet ./...

## golangci-lint: the linters in .golangci.yml, import aliases and layering included.
golangci-lint: $(BIN)/golangci-lint
	$(BIN)/golangci-lint run ./...

## buf-lint: buf lint over proto/.
buf-lint: $(BIN)/buf
	./scripts/fetch-googleapis.sh
	buf lint

## breaking: buf breaking (FILE rules) against the API as last published (API_BASE).
breaking: $(BIN)/buf
	./scripts/buf-breaking.sh $(API_BASE)

## tools: install buf, the protoc plugins and golangci-lint into BIN (default .bin).
tools: $(GEN_TOOLS) $(BIN)/golangci-lint

$(BIN)/buf:
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
$(BIN)/golangci-lint:
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
$(BIN)/ghz:
	GOBIN=$(BIN) $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

## generate: regenerate gen/ and clients/typescript/gen from proto/ (fetches the googleapis protos
## and the TypeScript client's npm packages first).
generate: $(GEN_TOOLS) $(TS_PACKAGES)
	./scripts/fetch-googleapis.sh
	rm -rf gen $(TS_GEN)
	buf generate
	buf generate --template clients/typescript/buf.gen.yaml

## check-generated: fail when the committed gen/ or clients/typescript/gen is stale.
check-generated: generate
	@git diff --exit-code --stat -- gen $(TS_GEN) || (echo "generated code is stale: run make generate and commit"; exit 1)
	@test -z "$$(git status --porcelain -- gen $(TS_GEN))" || (echo "generated code has untracked files: run make generate and commit"; git status --porcelain -- gen $(TS_GEN); exit 1)

$(TS_PACKAGES): $(TS_DIR)/package.json $(TS_DIR)/package-lock.json
	cd $(TS_DIR) && npm ci --no-audit --no-fund

## typescript-check: tsc --noEmit over the TypeScript client and its example (npm ci first).
typescript-check: $(TS_PACKAGES)
	cd $(TS_DIR) && npx tsc -p . --noEmit

## lint-observability: parse the alert rules and the dashboard in deploy/observability with
## Prometheus' own parsers (a module of its own, so the main one does not carry prometheus/prometheus).
.PHONY: lint-observability
lint-observability:
	cd deploy/observability/lint && $(GO) test -count=1 ./...

## clean: remove bin/.
clean:
	rm -rf bin

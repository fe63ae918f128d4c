# Bulwark build and test entry points. `make test` installs what the tests
# need on Debian (haproxy, nginx, curl, openssl, wrk) when it is missing, then
# runs every test; on CI nothing is skipped for a missing tool.
GO ?= go
export PATH := $(PATH):$(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION ?= v0.7.0

.PHONY: all build test race deps lint fuzz bench docs release clean

all: build

build:
	$(GO) build -o bin/bulwark ./cmd/bulwark

deps:
	@./scripts/install-deps.sh

# Every test, then the race detector on the concurrent packages.
test: deps
	BULWARK_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 15m ./...
	$(MAKE) race

# The race detector on the packages that run goroutines (sessions, checks,
# server state, stick tables, balancers, log writers, the cache and the
# resolver); about a minute.
RACE_PKGS ?= ./internal/proxy ./internal/health ./internal/srvstate ./internal/stick \
	./internal/balance ./internal/logging ./internal/h1 ./internal/cache ./internal/resolver
race:
	$(GO) test -race -count=1 -timeout 10m $(RACE_PKGS)

lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" && exit 1)
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	staticcheck ./...

# Short runs of every fuzz target (no panic, no hang); seed corpora live in testdata/.
fuzz:
	@./scripts/fuzz-all.sh $(or $(FUZZTIME),20s)

# Library benchmarks use the same profile-guided optimisation as the binary.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -pgo=$(CURDIR)/cmd/bulwark/default.pgo ./...
	./bench/run.sh

docs:
	$(GO) run ./cmd/bulwark controls --format md > docs/controls.md
	$(GO) run ./cmd/bulwark keywords --format md > docs/keywords.md
	$(GO) run ./cmd/bulwark keywords --format compat > docs/.compat.gen
	awk -v gen=docs/.compat.gen '/^<!-- BEGIN GENERATED/ { while ((getline l < gen) > 0) print l; skip = 1; next } \
		/^<!-- END GENERATED/ { skip = 0; next } !skip' docs/compatibility.md > docs/.compat.md
	mv docs/.compat.md docs/compatibility.md && rm -f docs/.compat.gen

# A reproducible release build (HAP-1.1): no paths, no build id, no cgo,
# with the VCS revision embedded; SHA256SUMS beside it. Two runs of it on
# the same revision give the same bytes (TestReleaseBuildReproducible).
# RELEASE_TAGS=bulwark_nolibcrypto leaves out the libcrypto RSA signer
# (purego): a fully static binary whose RSA keys sign with crypto/rsa.
RELEASE_TAGS ?=
RELEASE_FLAGS = -buildvcs=true -trimpath -ldflags=-buildid= -pgo=$(CURDIR)/cmd/bulwark/default.pgo
release:
	mkdir -p dist
	CGO_ENABLED=0 $(GO) build $(RELEASE_FLAGS) $(if $(RELEASE_TAGS),-tags $(RELEASE_TAGS)) -o dist/bulwark ./cmd/bulwark
	cd dist && sha256sum bulwark > SHA256SUMS
	@cat dist/SHA256SUMS

clean:
	rm -rf bin dist

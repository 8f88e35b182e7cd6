# rtool: see README.md. Every target installs what it needs through
# scripts/setup-host.sh (as root) or the Go module proxy.
GO        ?= go
BIN       := bin/rtool
PKGS      := ./...
TESTFLAGS ?= -timeout 80m

.PHONY: all build test test-short bench lint demo setup schema clean fuzz

all: build

build:
	$(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/rtool

setup:
	@if [ "$$(id -u)" = 0 ]; then ./scripts/setup-host.sh; else echo "make setup: not root, skipping host packages (root-only tests will skip)" >&2; fi

# test: everything, including root-only chroot builds when run as root.
test: setup build
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)

test-short: build
	$(GO) test -short $(PKGS)

bench: build
	./scripts/bench.sh

lint: setup
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" actionlint

# schema: regenerate the committed JSON Schemas from the Go types.
schema:
	for s in manifest runtime registry; do $(GO) run ./cmd/rtool schema $$s > schema/$$s.schema.json; done

# demo: the main job on this repository's runtimes (validate, build, registry, smoke tests).
demo:
	@./scripts/demo.sh

clean:
	rm -rf bin

# keygate. `make dev` runs the whole flow on this machine; `make test` runs every test.
GO      ?= go
BIN     ?= bin/keygate
PKGS    ?= ./...
# The Vault binary the tests start (`vault server -dev`). scripts/vault-build.sh prints the
# path of VAULT_BIN if set, else builds Vault once from source into ~/.cache/keygate.
VAULT    = $(shell scripts/vault-build.sh)

.PHONY: all build image dev test test-console test-deploy test-short vault lint bench docs-figures faults fuzz mutate compose-check clean

all: build

# keygate version prints these (internal/cli/version.go).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  = -X github.com/keygate/keygate/internal/cli.Version=$(VERSION) -X github.com/keygate/keygate/internal/cli.Commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/keygate

# The container image, stamped like `make build` (Dockerfile: ARG VERSION, COMMIT; OCI labels).
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t keygate:$(VERSION) .

dev:
	$(GO) run ./cmd/keygate dev

vault:
	@scripts/vault-build.sh

test: test-deploy
	VAULT_BIN="$(VAULT)" $(GO) test -race -count=1 -timeout 30m $(PKGS)

# The web console in headless Chromium (apt-get install -y chromium); part of `make test` too.
test-console:
	$(GO) test -count=1 -timeout 10m ./test/console/

# The deploy kit (Helm chart, dashboard, alerts): a module of its own (test/deploy/go.mod) so
# Helm's and Prometheus's dependencies stay out of keygate's go.mod.
test-deploy:
	cd test/deploy && $(GO) test -count=1 -timeout 20m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@out=$$($(GO) run golang.org/x/tools/cmd/goimports@v0.52.0 -local github.com/keygate/keygate -l $$(git ls-files '*.go')); \
		test -z "$$out" || { echo "$$out"; echo "goimports: imports above are not grouped std / third-party / keygate"; exit 1; }
	$(GO) vet $(PKGS)
	cd test/deploy && $(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

bench:
	$(GO) run ./test/loadgen -duration 5s

# Measure (make bench's run plus the Go benchmarks) and render every figure in README and docs
# from it (docs/figures); TestDocsMatchFigures keeps the documents and docs/figures in step.
docs-figures:
	GO=$(GO) scripts/docs-figures.sh

faults:
	VAULT_BIN="$(VAULT)" $(GO) test -count=1 -timeout 20m -run TestFaultSuite -v ./test/faults

fuzz:
	scripts/fuzz-brief.sh

# make mutate: every trust-boundary package (hours on 2 cores); make mutate PKGS="./keystore ./signer":
# those; make mutate BASE=main: the lines changed since main in the packages they touch (CI).
mutate:
	VAULT_BIN="$(VAULT)" MUTATE_BASE="$(BASE)" scripts/mutate.sh $(if $(filter command line,$(origin PKGS)),$(PKGS))

compose-check:
	scripts/compose-check.sh

clean:
	rm -rf bin

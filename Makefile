# cinit's build. `make demo` runs the example Procfile; `make test` runs the
# whole suite (vet plus race-enabled tests with real processes).

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all test container-test demo bench fuzz clean cross release release-repro smoke-arm64

all: bin/cinit

bin/cinit: $(shell find . -name '*.go' -not -path './bin/*') go.mod go.sum
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ .

# The root package runs about 2.5 minutes on a quiet 2-core machine; the
# timeout is generous so that a loaded machine does not fail it on time alone.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout=25m ./...
	cd export/validate && $(GO) vet ./... && $(GO) test -count=1 ./...
	@[ "$$CINIT_CONTAINER_TESTS" = 1 ] || echo 'container/: podman tests skipped; run them with make container-test (root, podman, runc, busybox-static; .ci/podman-setup installs them)'

# make container-test: cinit as the entry point of real containers
# (container/): podman with runc on the FROM scratch example image.
container-test:
	CINIT_CONTAINER_TESTS=1 $(GO) test -race -count=1 -v ./container/

demo: bin/cinit
	cd examples && ../bin/cinit

# make fuzz runs every fuzz target for FUZZTIME, one after the other;
# FUZZFLAGS adds flags (e.g. -parallel=1 on a shared machine). The seed
# corpora in testdata/fuzz/ run with every make test.
FUZZTIME  ?= 30s
FUZZFLAGS ?=
FUZZ       = $(GO) test -run='^$$' -fuzztime=$(FUZZTIME) $(FUZZFLAGS) -fuzz
fuzz:
	$(FUZZ)='^FuzzParse$$' ./procfile/
	$(FUZZ)='^FuzzParseEnv$$' ./procfile/
	$(FUZZ)='^FuzzParseFormation$$' ./procfile/
	$(FUZZ)='^FuzzLines$$' ./output/
	$(FUZZ)='^FuzzParse$$' ./signals/
	$(FUZZ)='^FuzzParseDuration$$' .
	$(FUZZ)='^FuzzPolicyFlags$$' .
	$(FUZZ)='^FuzzParseArgs$$' .
	$(FUZZ)='^FuzzDecodeRequest$$' ./control/

# make stress: a bounded run of STRESS_SECONDS of cinit start/teardown
# cycles with heavy output, restarts, signals and orphans, checking that
# every line a child wrote was printed exactly once and that nothing
# leaked (see stress/main.go). STRESS_CINIT picks another build to test.
STRESS_SECONDS ?= 60
STRESS_CINIT   ?= bin/cinit
.PHONY: stress
stress: bin/cinit
	$(GO) run ./stress -cinit $(STRESS_CINIT) -seconds $(STRESS_SECONDS)

bench:
	$(GO) test -run=NONE -bench=. -benchmem ./output/ ./reaper/
	$(MAKE) --no-print-directory bin/cinit
	GO=$(GO) bench/run.sh

# make cross builds, vets and test-compiles every other target and runs
# the pure packages' tests under qemu-user (build/cross.sh; CROSS_TARGETS
# picks targets). make release builds dist/ from a clean tagged tree
# (SNAPSHOT=1: any tree) and checks it (build/release.sh); release-repro
# builds it in two clones and compares; smoke-arm64 runs the arm64 release
# binary as PID 1 under qemu (build/smoke-arm64.sh).
cross:
	GO=$(GO) build/cross.sh
release:
	GO=$(GO) build/release.sh
release-repro:
	GO=$(GO) build/release-repro.sh
smoke-arm64:
	build/smoke-arm64.sh

clean:
	rm -rf bin dist

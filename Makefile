# cinit's build. `make demo` runs the example Procfile; `make test` runs the
# whole suite (vet plus race-enabled tests with real processes).

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all test demo bench fuzz clean

all: bin/cinit

bin/cinit: $(shell find . -name '*.go' -not -path './bin/*') go.mod go.sum
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ .

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

demo: bin/cinit
	cd examples && ../bin/cinit

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run=NONE -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./procfile/
	$(GO) test -run=NONE -fuzz=FuzzParseFormation -fuzztime=$(FUZZTIME) ./procfile/
	$(GO) test -run=NONE -fuzz=FuzzLines -fuzztime=$(FUZZTIME) ./output/

bench:
	$(GO) test -run=NONE -bench=. -benchmem ./output/
	$(MAKE) --no-print-directory bin/cinit
	GO=$(GO) bench/run.sh

clean:
	rm -rf bin

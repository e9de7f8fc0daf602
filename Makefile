# smsgw — build, test and release tasks. `make help` lists them.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
OUT       ?= dist
FUZZTIME  ?= 20s

.PHONY: help build test test-deps lint fmt bench fuzz cross cross-deps clean

help:
	@echo "build       build ./smsgw for this machine (cgo, SQLite)"
	@echo "test        install/check test packages, then go test -race ./..."
	@echo "lint        gofmt check, go vet, staticcheck"
	@echo "bench       run the Go benchmarks"
	@echo "fuzz        run every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "cross       build linux/arm64 and linux/arm (armhf) binaries into $(OUT)/"
	@echo "cross-deps  install the Debian cross compilers cross needs (root)"

build:
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o smsgw ./cmd/smsgw

test-deps:
	@scripts/test-deps

test: test-deps
	$(GO) test -race -count=1 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Each fuzz target runs on its own (go test allows one -fuzz target per package run).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

# Cross builds need a C cross compiler because SQLite is cgo (make cross-deps).
cross:
	mkdir -p $(OUT)
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/smsgw-linux-arm64 ./cmd/smsgw
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/smsgw-linux-armhf ./cmd/smsgw

cross-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross

clean:
	rm -rf smsgw $(OUT)

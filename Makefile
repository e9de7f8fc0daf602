# smsgw — build, test and release tasks. `make help` lists them.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
OUT       ?= dist
FUZZTIME  ?= 20s
# Harness sizes (docs/benchmarks.md and docs/reliability.md say what each one measured).
BENCH_RUNS      ?= 3
BENCH_MESSAGES  ?= 500
BENCH_REALISTIC ?= 20
BENCH_OUT       ?= /tmp/smsgw-bench
KILL_CYCLES     ?= 100
UNPLUG_CYCLES   ?= 200
SOAK_DURATION   ?= 1h
# nfpm builds the .deb packages; go run fetches it, it is not a module dependency.
NFPM      := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.44.0
DEB_ARCHES := amd64 arm64 armhf
DEB_VERSION ?= $(shell TZ=UTC scripts/deb-version 2>/dev/null || echo 0.0~unknown)

.PHONY: help build test test-deps lint fmt bench bench-go bench-api bench-peers bench-reliability soak fuzz cross cross-deps clean static deb $(addprefix deb-,$(DEB_ARCHES)) deb-check

help:
	@echo "build       build ./smsgw for this machine (cgo, SQLite)"
	@echo "test        install/check test packages, then go test -race ./..."
	@echo "lint        gofmt check, go vet, staticcheck"
	@echo "bench       Go benchmarks, then the side-by-side and reliability harnesses (over an hour)"
	@echo "bench-go    only the Go benchmarks (go test -bench)"
	@echo "bench-api   the binary's REST API: enqueue rates, reads at 1M messages, RSS (bench/apiload)"
	@echo "bench-peers smsgw vs gammu-smsd vs smstools3 on virtual modems (bench/peers)"
	@echo "bench-reliability  SIGKILL loops, unplug/replug, hung modem, inbound burst (bench/reliability)"
	@echo "soak        1 msg/s over 4 virtual modems with faults for SOAK_DURATION (default $(SOAK_DURATION))"
	@echo "fuzz        run every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "cross       build linux/arm64 and linux/arm (armhf) binaries into $(OUT)/"
	@echo "cross-deps  install the Debian cross compilers cross needs (root)"
	@echo "static      build a static $(OUT)/smsgw-linux-ARCH (ARCH=amd64|arm64|armhf, default amd64)"
	@echo "deb         build static binaries and .deb packages for $(DEB_ARCHES) into $(OUT)/"
	@echo "deb-check   list and lint the built .deb packages (dpkg-deb)"

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

bench: bench-go bench-api bench-peers bench-reliability

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The real binary's API from outside: enqueue (single, batched) on a fresh database, then
# reads on a 1M-message / 50k-contact database seeded once by bench/seed.
bench-api:
	mkdir -p $(BENCH_OUT)
	$(GO) build -o $(BENCH_OUT)/smsgw ./cmd/smsgw
	$(GO) run ./bench/apiload -smsgw $(BENCH_OUT)/smsgw
	test -f $(BENCH_OUT)/seed1m.db || $(GO) run ./bench/seed -messages 1000000 -contacts 50000 -db $(BENCH_OUT)/seed1m.db
	$(GO) run ./bench/apiload -smsgw $(BENCH_OUT)/smsgw -db $(BENCH_OUT)/seed1m.db

# Each harness appends its runs to $(BENCH_OUT)/peers.jsonl and prints Markdown tables.
# gammu-smsd and smstools (apt-get install gammu-smsd smstools) must be installed.
bench-peers:
	mkdir -p $(BENCH_OUT)
	$(GO) build -o $(BENCH_OUT)/smsgw ./cmd/smsgw
	$(GO) run ./bench/peers -smsgw $(BENCH_OUT)/smsgw -out $(BENCH_OUT)/peers.jsonl -dir send -latency instant -messages $(BENCH_MESSAGES) -runs $(BENCH_RUNS)
	$(GO) run ./bench/peers -smsgw $(BENCH_OUT)/smsgw -out $(BENCH_OUT)/peers.jsonl -dir recv -latency instant -messages $(BENCH_MESSAGES) -runs $(BENCH_RUNS)
	$(GO) run ./bench/peers -smsgw $(BENCH_OUT)/smsgw -out $(BENCH_OUT)/peers.jsonl -dir send -latency realistic -messages $(BENCH_REALISTIC) -runs $(BENCH_RUNS)
	$(GO) run ./bench/peers -smsgw $(BENCH_OUT)/smsgw -out $(BENCH_OUT)/peers.jsonl -dir send -latency fixed4 -messages $(BENCH_REALISTIC) -runs $(BENCH_RUNS)
	$(GO) run ./bench/peers -smsgw $(BENCH_OUT)/smsgw -out $(BENCH_OUT)/peers.jsonl -dir recv -latency realistic -messages 100 -runs $(BENCH_RUNS)
	$(GO) run ./bench/peers -smsgw $(BENCH_OUT)/smsgw -out $(BENCH_OUT)/scaling.jsonl -scaling 1,2,4,8,16 -per-modem 10 -runs $(BENCH_RUNS)

bench-reliability:
	mkdir -p $(BENCH_OUT)
	$(GO) build -o $(BENCH_OUT)/smsgw ./cmd/smsgw
	$(GO) run ./bench/reliability kill-send -smsgw $(BENCH_OUT)/smsgw -cycles $(KILL_CYCLES)
	$(GO) run ./bench/reliability kill-recv -smsgw $(BENCH_OUT)/smsgw -cycles $(KILL_CYCLES)
	$(GO) run ./bench/reliability burst -smsgw $(BENCH_OUT)/smsgw -messages 1000
	$(GO) run ./bench/reliability hung -smsgw $(BENCH_OUT)/smsgw -cycles 3
	$(GO) run ./bench/reliability unplug -smsgw $(BENCH_OUT)/smsgw -cycles $(UNPLUG_CYCLES)

# Not part of make test or CI: it runs for SOAK_DURATION and samples RSS, goroutines and
# the WAL every 10 s into $(BENCH_OUT)/soak.csv.
soak:
	mkdir -p $(BENCH_OUT)
	$(GO) build -o $(BENCH_OUT)/smsgw ./cmd/smsgw
	$(GO) run ./bench/reliability soak -smsgw $(BENCH_OUT)/smsgw -duration $(SOAK_DURATION) -csv $(BENCH_OUT)/soak.csv

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

# Static binaries (glibc linked in) run on any Debian/Raspberry Pi OS release of their
# architecture. See scripts/build-static and docs/operations.md (cross-compiling).
ARCH ?= amd64
static:
	VERSION=$(VERSION) scripts/build-static $(ARCH) $(OUT)/smsgw-linux-$(ARCH)

# make deb: one package per architecture in $(OUT)/ (needs make cross-deps for arm).
deb: $(addprefix deb-,$(DEB_ARCHES))

$(addprefix deb-,$(DEB_ARCHES)): deb-%:
	VERSION=$(VERSION) scripts/build-static $* $(OUT)/smsgw-linux-$*
	mkdir -p dist/nfpm $(OUT) && cp $(OUT)/smsgw-linux-$* dist/nfpm/smsgw
	SMSGW_ARCH=$* SMSGW_VERSION=$(DEB_VERSION) \
	  $(GO) run $(NFPM) package --config packaging/nfpm.yaml --packager deb --target $(OUT)/

deb-check:
	@set -e; for f in $(OUT)/smsgw_*.deb; do echo "== $$f"; dpkg-deb --info "$$f"; dpkg-deb --contents "$$f"; done

clean:
	rm -rf smsgw $(OUT)

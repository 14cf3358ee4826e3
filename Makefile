# The two front doors: `make run` (build and start examples/app.ts) and
# `make test` (every test). Both install what they need.
export PATH := /usr/local/go/bin:$(PATH)
GO   ?= go
BUN  := node_modules/.bin/bun
LIB  := build/libzigh3.so
GO_SOURCES := $(shell find server bridge capi internal -name '*.go' -o -name '*.c' -o -name '*.h') include/zig_h3.h go.mod go.sum

.PHONY: all lib deps run test test-go test-c test-bun test-soak typecheck stress stress-bun fuzz clean generate

all: lib

deps: node_modules/.installed
	$(GO) mod download
	cd bench && $(GO) mod download

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lib: $(LIB)

$(LIB): $(GO_SOURCES)
	$(GO) build -buildmode=c-shared -trimpath -o $@ ./capi

build/h3client: $(shell find tests/h3client client -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/h3client

build/dgclient: $(shell find tests/dgclient client -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/dgclient

run: deps $(LIB)
	$(BUN) run examples/app.ts

test: deps $(LIB) build/h3client build/dgclient typecheck test-go test-c test-bun test-soak

# internal/abi's test fails here when a file generated from include/zig_h3.h
# is stale: then run make generate.
# The bench module (bench/go.mod) is vetted too, so that it keeps compiling.
test-go:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	cd bench && $(GO) vet ./...

# Writes bun/abi.gen.ts, internal/abi/abi_gen.go and tests/c/functions.gen.h
# from include/zig_h3.h.
generate:
	$(GO) generate ./internal/abi

test-c: $(LIB) build/h3client build/dgclient
	tests/c/run.sh

test-bun: $(LIB) build/h3client build/dgclient node_modules/.installed
	$(BUN) test --timeout 30000 tests/

# The soak's fast variant (SOAK_SECONDS, default 30 here; 600 in make stress).
test-soak: $(LIB) build/h3client build/dgclient node_modules/.installed
	$(BUN) run tests/soak/soak.ts --seconds $(or $(SOAK_SECONDS),30)

# Reliability: a long soak, the fuzz targets for a bounded time, the race
# detector, the C misuse tests, and the Bun suite 100 times in a row.
FUZZTIME ?= 30s
stress: deps $(LIB) build/h3client build/dgclient
	$(BUN) run tests/soak/soak.ts --seconds $(or $(SOAK_SECONDS),600) --json build/soak.json
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)
	$(GO) test -race -count=1 ./...
	tests/c/run.sh
	tests/repeat.sh $(or $(N),100)

fuzz:
	for f in server:FuzzRouter server:FuzzHeaders bridge:FuzzHeaderBlock bridge:FuzzEventEncoding; do \
		$(GO) test -run '^$$' -fuzz "^$${f#*:}$$" -fuzztime $(FUZZTIME) ./$${f%%:*} || exit 1; \
	done

typecheck: node_modules/.installed
	$(BUN) x tsc --noEmit -p .

# Runs the Bun suite N times in a row and counts crashes and hangs.
stress-bun: $(LIB) build/h3client build/dgclient node_modules/.installed
	tests/repeat.sh $(or $(N),20)

clean:
	rm -rf build

# Benchmarks: builds the load generator and the benchmark servers (the Go
# module bench/, on the client package of this one), runs
# every scenario against every server and writes bench/results/*.json,
# docs/BENCHMARKS.md and bench/benchmarks.svg (under 10 minutes). Flags for
# bench/runner go in BENCH_ARGS, e.g. make bench BENCH_ARGS=-quick (1 minute).
.PHONY: bench
bench: deps $(LIB)
	mkdir -p build/bench
	cd bench && $(GO) build -o ../build/bench/ ./loadgen ./runner ./servers/go-core ./servers/pure-h3
	$(CC) -O2 -Wall -Wextra -o build/bench/c-server bench/servers/c-server.c -ldl -lpthread
	$(CC) -O2 -Wall -Wextra -o build/bench/c-queue bench/servers/c-queue.c -ldl -lpthread
	build/bench/runner $(BENCH_ARGS)

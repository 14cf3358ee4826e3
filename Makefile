# The two front doors: `make run` (build and start examples/app.ts) and
# `make test` (every test). Both install what they need.
export PATH := /usr/local/go/bin:$(PATH)
GO   ?= go
BUN  := node_modules/.bin/bun
DENO := node_modules/.bin/deno
LIB  := build/libzigh3.so
GO_SOURCES := $(shell find server bridge capi internal -name '*.go' -o -name '*.c' -o -name '*.h') include/zig_h3.h go.mod go.sum

.PHONY: all lib helpers deps run test test-go test-c test-bun test-soak test-install typecheck stress stress-bun fuzz clean generate pack test-pack install

# The library and the Go test clients the Bun and C tests run.
all: lib helpers

deps: node_modules/.installed
	$(GO) mod download
	cd bench && $(GO) mod download

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lib: $(LIB)

helpers: build/h3client build/dgclient build/clusterclient

$(LIB): $(GO_SOURCES)
	$(GO) build -buildmode=c-shared -trimpath -o $@ ./capi

build/h3client: $(shell find tests/h3client client -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/h3client

build/dgclient: $(shell find tests/dgclient client -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/dgclient

build/clusterclient: $(shell find tests/clusterclient -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/clusterclient

# The npm package: build/zig-h3-bun-$(VERSION).tgz with the TypeScript sources
# of bun/ (Bun runs them), their declarations in types/ (what an app's tsc
# reads, so the app's compiler options never apply to the sources; made with
# tsconfig.types.json) and the library as prebuilds/<platform>-<arch>/libzigh3.so,
# where bun/ffi.ts looks for it. types/ and prebuilds/ exist only while npm pack
# runs, so a stale copy never shadows build/libzigh3.so in the repository.
VERSION  := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
PLATFORM := $(shell $(GO) env GOOS)-$(subst amd64,x64,$(shell $(GO) env GOARCH))
TARBALL  := build/zig-h3-bun-$(VERSION).tgz
pack: $(TARBALL)

$(TARBALL): $(LIB) package.json tsconfig.types.json $(wildcard bun/*.ts) README.md include/zig_h3.h node_modules/.installed
	rm -rf prebuilds types; trap 'rm -rf prebuilds types' EXIT INT TERM; \
		mkdir -p prebuilds/$(PLATFORM) && cp $(LIB) prebuilds/$(PLATFORM)/libzigh3.so && \
		node_modules/.bin/tsc -p tsconfig.types.json && npm pack --pack-destination build

# Installs the tarball with bun-types and typescript from the npm registry in
# a temporary folder, serves a request from an app that imports the package
# and type-checks it with tsc (needs the network; not part of make test).
test-pack: $(TARBALL) build/h3client
	tests/pack/run.sh $(TARBALL)

# The C library: $(PREFIX)/lib/libzigh3.so, $(PREFIX)/include/zig_h3.h and
# $(PREFIX)/lib/pkgconfig/zig_h3.pc (DESTDIR is honoured), so that
# cc app.c $$(pkg-config --cflags --libs zig_h3) links it.
PREFIX ?= /usr/local
install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libzigh3.so
	install -m 0644 include/zig_h3.h $(DESTDIR)$(PREFIX)/include/zig_h3.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' zig_h3.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/zig_h3.pc

# make install into a temporary prefix, then a C program built with
# pkg-config (no dlopen) serves one request.
test-install: $(LIB) build/h3client
	tests/install/run.sh

run: deps $(LIB) build/h3client
	$(BUN) run examples/app.ts

# Stops at the first failing step; when every step passed, its last line
# sums them up, with the Bun suite's counts.
test: deps $(LIB) build/h3client build/dgclient build/clusterclient typecheck test-go test-c test-install test-bun test-soak
	@echo "make test: all passed: tsc; go vet + go test; C ABI test; install test; Bun suite ($$(grep -E '^ *[0-9]+ (pass|fail)$$|^Ran ' build/bun-test.log | sed 's/^ *//' | paste -sd';' - | sed 's/;/, /g')); soak $(or $(SOAK_SECONDS),30) s"

# internal/abi's test fails here when a file generated from include/zig_h3.h
# is stale: then run make generate.
# The bench module (bench/go.mod) is vetted and its unit tests run too, so
# that it keeps compiling and its report's statistics stay right.
test-go:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./runner

# Writes bun/abi.gen.ts, internal/abi/abi_gen.go and tests/c/functions.gen.h
# from include/zig_h3.h.
generate:
	$(GO) generate ./internal/abi

test-c: $(LIB) build/h3client build/dgclient
	tests/c/run.sh

# Its output is kept in build/bun-test.log (for make test's summary line).
test-bun: $(LIB) build/h3client build/dgclient node_modules/.installed
	rm -f build/bun-test.rc; { $(BUN) test --timeout 30000 tests/ 2>&1; echo $$? > build/bun-test.rc; } | tee build/bun-test.log; exit $$(cat build/bun-test.rc)

# The soak's fast variant (SOAK_SECONDS, default 30 here; 600 in make stress).
test-soak: $(LIB) build/h3client build/dgclient node_modules/.installed
	$(BUN) run tests/soak/soak.ts --seconds $(or $(SOAK_SECONDS),30)

# Reliability: a long soak, the fuzz targets for a bounded number of inputs,
# the race detector, the C misuse tests, and the Bun suite 100 times in a row.
stress: deps $(LIB) build/h3client build/dgclient
	$(BUN) run tests/soak/soak.ts --seconds $(or $(SOAK_SECONDS),600) --json build/soak.json
	$(MAKE) fuzz
	$(GO) test -race -count=1 ./...
	tests/c/run.sh
	tests/repeat.sh $(or $(N),100)

# The fuzz targets, package:target:inputs. Each runs for a count of inputs
# (-fuzztime Nx), about 30 s each on 2 cores, not for a duration: with a
# duration, Go 1.26's fuzz coordinator can report "context deadline exceeded"
# at the end without any failing input (golang/go#75804, fixed in Go 1.27), so
# make fuzz fails only on real findings (written to testdata/fuzz/). FUZZTIME
# replaces every count, e.g. make fuzz FUZZTIME=2000x.
FUZZ_TARGETS := server:FuzzRouter:300000 server:FuzzHeaders:400000 bridge:FuzzHeaderBlock:360000 bridge:FuzzEventEncoding:180000
fuzz:
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$${rest#*:}; \
		ft='$(FUZZTIME)'; ft=$${ft:-$${n}x}; \
		echo "fuzz: $$name in ./$$pkg, -fuzztime $$ft"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$ft ./$$pkg || exit 1; \
	done

# tests/fixtures/deno-*.ts are Deno scripts (the Deno test servers): deno checks
# them with their own configuration, tsc (Bun's types) everything else.
typecheck: node_modules/.installed
	$(BUN) x tsc --noEmit -p .
	NO_COLOR=1 $(DENO) check --config tests/fixtures/deno.json tests/fixtures/deno-*.ts

# Runs the Bun suite N times in a row and counts crashes and hangs.
stress-bun: $(LIB) build/h3client build/dgclient node_modules/.installed
	tests/repeat.sh $(or $(N),20)

clean:
	rm -rf build prebuilds types

# Benchmarks: builds the load generator and the benchmark servers (the Go
# module bench/, on the client package of this one), runs
# every scenario against every server and writes bench/results/*.json,
# docs/BENCHMARKS.md and bench/benchmarks.svg (about 11 minutes). Flags for
# bench/runner go in BENCH_ARGS, e.g. make bench BENCH_ARGS=-quick (1 minute).
.PHONY: bench
bench: deps $(LIB)
	mkdir -p build/bench
	cd bench && $(GO) build -o ../build/bench/ ./loadgen ./runner ./servers/go-core ./servers/pure-h3
	$(CC) -O2 -Wall -Wextra -o build/bench/c-server bench/servers/c-server.c -ldl -lpthread
	$(CC) -O2 -Wall -Wextra -o build/bench/c-queue bench/servers/c-queue.c -ldl -lpthread
	build/bench/runner $(BENCH_ARGS)

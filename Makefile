# The two front doors: `make run` (build and start examples/app.ts) and
# `make test` (every test). Both install what they need.
export PATH := /usr/local/go/bin:$(PATH)
GO   ?= go
BUN  := node_modules/.bin/bun
LIB  := build/libzigh3.so
GO_SOURCES := $(shell find core capi -name '*.go' -o -name '*.c' -o -name '*.h') include/zig_h3.h go.mod go.sum

.PHONY: all lib deps run test test-go test-c test-bun typecheck stress-bun clean

all: lib

deps: node_modules/.installed
	$(GO) mod download

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lib: $(LIB)

$(LIB): $(GO_SOURCES)
	$(GO) build -buildmode=c-shared -trimpath -o $@ ./capi

build/h3client: $(shell find tests/h3client -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/h3client

build/dgclient: $(shell find tests/dgclient -name '*.go') go.mod go.sum
	$(GO) build -o $@ ./tests/dgclient

run: deps $(LIB)
	$(BUN) run examples/app.ts

test: deps $(LIB) build/h3client build/dgclient typecheck test-go test-c test-bun

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-c: $(LIB) build/h3client build/dgclient
	tests/c/run.sh

test-bun: $(LIB) build/h3client build/dgclient node_modules/.installed
	$(BUN) test --timeout 30000 tests/

typecheck: node_modules/.installed
	$(BUN) x tsc --noEmit -p .

# Runs the Bun suite N times in a row and counts crashes and hangs.
stress-bun: $(LIB) build/h3client build/dgclient node_modules/.installed
	tests/repeat.sh $(or $(N),20)

clean:
	rm -rf build

#!/bin/sh
# Builds and runs the C ABI test (tests/c/*.c; main.c lists the parts) from
# the repository root: the library (unless ZIG_H3_LIB names one), the Go
# HTTP/3 client (build/h3client, or $H3CLIENT), the Go datagram and
# WebTransport client (build/dgclient, or $DGCLIENT) and the C program, with gcc.
# The client parts also run Bun's own HTTP/3 server (tests/fixtures/bun-native-h3.ts,
# with $BUN, else node_modules/.bin/bun) and openssl.
#   tests/c/run.sh            # build everything, run
#   ZIG_H3_LIB=path/to/libzigh3.so tests/c/run.sh
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
mkdir -p build
if [ -z "${ZIG_H3_LIB:-}" ]; then
    "$GO" build -buildmode=c-shared -o build/libzigh3.so ./capi
    ZIG_H3_LIB=build/libzigh3.so
fi
if [ -z "${H3CLIENT:-}" ]; then
    "$GO" build -o build/h3client ./tests/h3client
    H3CLIENT=build/h3client
fi
if [ -z "${DGCLIENT:-}" ]; then
    "$GO" build -o build/dgclient ./tests/dgclient
    DGCLIENT=build/dgclient
fi
gcc -Wall -Wextra -Werror tests/c/*.c -ldl -lpthread -o build/c_server_test
ZIG_H3_LIB=$ZIG_H3_LIB H3CLIENT=$H3CLIENT DGCLIENT=$DGCLIENT exec build/c_server_test "$ZIG_H3_LIB"

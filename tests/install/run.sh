#!/bin/sh
# Checks make install as a C user sees it: installs into a temporary PREFIX,
# builds tests/install/app.c with $(pkg-config --cflags --libs zig_h3) (the
# header's prototypes, no dlopen) and runs it against the installed library:
# one request over HTTP/3 (build/h3client) and one over HTTP/2 (curl, if
# present). From the repository root: tests/install/run.sh (or make test-install).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
CC=${CC:-cc}
command -v pkg-config >/dev/null 2>&1 || { echo "tests/install: needs pkg-config (apt-get install pkg-config)" >&2; exit 1; }
[ -x build/h3client ] || "$GO" build -o build/h3client ./tests/h3client
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make -s install PREFIX="$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
echo "tests/install: pkg-config --cflags --libs zig_h3: $(pkg-config --cflags --libs zig_h3)"
# -Wl,-rpath: the program finds the library where it was installed (else LD_LIBRARY_PATH).
# shellcheck disable=SC2046
"$CC" -Wall -Wextra -Werror -o "$prefix/app" tests/install/app.c $(pkg-config --cflags --libs zig_h3) \
    -Wl,-rpath,"$(pkg-config --variable=libdir zig_h3)"
ldd "$prefix/app" | grep -q "$prefix/lib/libzigh3.so" || { echo "tests/install: app does not link $prefix/lib/libzigh3.so" >&2; exit 1; }
"$prefix/app" "$ROOT/build/h3client https://127.0.0.1:\$PORT/hello"
if command -v curl >/dev/null 2>&1; then
    "$prefix/app" 'curl -sS -k --http2 https://127.0.0.1:$PORT/hello'
fi
echo "tests/install: ok"

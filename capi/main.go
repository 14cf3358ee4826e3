// Command capi is the C face of the library: `go build -buildmode=c-shared`
// turns it into libzigh3.so implementing include/zig_h3.h. It only
// translates between C and the core package: arguments are checked and
// copied, handles resolved, errors turned into codes.
package main

import (
	"os"
	"runtime/debug"
)

// libraryGCPercent is the Go collector's target for the library's own
// runtime when the host process does not set GOGC. The library's live heap
// is about 1 MiB, so the default 100 collects at every 4 MiB allocated:
// ~30 collections a second under 9 k small requests/s, about a tenth of
// the library's CPU. 400 cuts that by four for ~12 MiB more RSS.
const libraryGCPercent = 400

func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(libraryGCPercent)
	}
}

func main() {}

// Command capi is the C face of the library: `go build -buildmode=c-shared`
// turns it into libzigh3.so implementing include/zig_h3.h. It only
// translates between C and the core package: arguments are checked and
// copied, handles resolved, errors turned into codes.
package main

import (
	"os"
	"runtime/debug"

	"github.com/zig-h3/h3bun/bridge"
)

func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(bridge.RuntimeGCPercent)
	}
}

func main() {}

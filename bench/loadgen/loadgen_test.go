package main

import (
	"context"
	"testing"

	"github.com/zig-h3/h3bun/client/clienttest"
)

// TestScenarios runs the scenarios briefly against the client package's
// reference server.
func TestScenarios(t *testing.T) {
	s := clienttest.NewServer(t)
	base := "https://" + s.Addr
	short := []string{"-duration", "300ms", "-warmup", "50ms", "-timeout", "10s"}
	for _, tc := range []struct {
		name string
		cmd  func(context.Context, []string) (*Result, error)
		args []string
	}{
		{"requests-get", cmdRequests, append([]string{"-url", base + "/", "-expect", "2", "-c", "4", "-conns", "2"}, short...)},
		{"requests-post-n", cmdRequests, []string{"-url", base + "/echo", "-method", "POST", "-body", "1024", "-n", "20", "-c", "4"}},
		{"conns", cmdConns, []string{"-url", base + "/", "-n", "5", "-c", "2"}},
		{"h3dgram", cmdH3Dgram, append([]string{"-url", base + "/h3dg/echo", "-flows", "2"}, short...)},
		{"wtdgram", cmdWTDgram, append([]string{"-url", base + "/wt/echo"}, short...)},
		{"wtstream", cmdWTStream, append([]string{"-url", base + "/wt/echo", "-c", "2", "-size", "4096"}, short...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.cmd(context.Background(), tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops == 0 || res.Errors != 0 {
				t.Errorf("ops %d, errors %d %v", res.Ops, res.Errors, res.ErrorSample)
			}
		})
	}
}

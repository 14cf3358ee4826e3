package server

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

const http3QlogSchema = "urn:ietf:params:qlog:events:http3-12"

// qlogTracer returns a quic.Config Tracer writing <odcid>_server.sqlog files
// into dir, or nil when dir is empty.
func qlogTracer(dir string, logf func(level int, format string, args ...any)) func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace {
	if dir == "" {
		return nil
	}
	return func(_ context.Context, isClient bool, connID quic.ConnectionID) qlogwriter.Trace {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			logf(LogWarn, "qlog: %v", err)
			return nil
		}
		path := filepath.Join(dir, fmt.Sprintf("%s_server.sqlog", connID))
		f, err := os.Create(path)
		if err != nil {
			logf(LogWarn, "qlog: %v", err)
			return nil
		}
		seq := qlogwriter.NewConnectionFileSeq(&bufferedFile{bufio.NewWriter(f), f}, isClient, connID,
			[]string{qlog.EventSchema, http3QlogSchema})
		go seq.Run()
		return seq
	}
}

// bufferedFile flushes its buffer before closing the file.
type bufferedFile struct {
	*bufio.Writer
	f *os.File
}

func (b *bufferedFile) Close() error {
	if err := b.Flush(); err != nil {
		b.f.Close()
		return err
	}
	return b.f.Close()
}

package bridge

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zig-h3/h3bun/server"
)

func TestSetOptions(t *testing.T) {
	for _, c := range []struct {
		name, spec string
		err        error // nil: accepted
		check      func(server.Config) bool
	}{
		{"absent fields keep their value", `{}`, nil, func(c server.Config) bool { return slices.Equal(c.QuicAlpn, []string{"x", "y"}) }},
		{"a list", `{"quicAlpn":["z"]}`, nil, func(c server.Config) bool { return slices.Equal(c.QuicAlpn, []string{"z"}) }},
		{"null keeps the value", `{"maxConnections":null}`, nil, func(c server.Config) bool { return c.MaxConnections == 7 }},
		{"limits", `{"maxRequestBodySize":10,"maxStreamsPerConnection":3}`, nil, func(c server.Config) bool {
			return c.MaxRequestBodySize == 10 && c.MaxStreamsPerConnection == 3
		}},
		{"timeout 0 is none", `{"requestTimeoutMs":0}`, nil, func(c server.Config) bool { return c.RequestTimeout < 0 }},
		{"timeout in ms", `{"requestTimeoutMs":1500}`, nil, func(c server.Config) bool { return c.RequestTimeout == 1500*time.Millisecond }},
		{"TCP with its Alt-Svc", `{"tcp":true,"altSvc":"h3=\":443\""}`, nil, func(c server.Config) bool {
			return c.TCP && c.AltSvc == `h3=":443"` && !c.NoAltSvc
		}},
		{"no Alt-Svc", `{"altSvc":false}`, nil, func(c server.Config) bool { return c.NoAltSvc && c.AltSvc == "" }},
		{"an Alt-Svc of another type", `{"altSvc":1}`, server.ErrInvalidArgument, nil},
		{"an Alt-Svc with CR LF", `{"altSvc":"a\r\nb"}`, server.ErrConfig, nil},
		{"header timeout 0 is none", `{"headerTimeoutMs":0}`, nil, func(c server.Config) bool { return c.HeaderTimeout < 0 }},
		{"header timeout in ms", `{"headerTimeoutMs":2500}`, nil, func(c server.Config) bool { return c.HeaderTimeout == 2500*time.Millisecond }},
		{"max header fields", `{"maxHeaderFields":50}`, nil, func(c server.Config) bool { return c.MaxHeaderFields == 50 }},
		{"an invalid list", `{"quicAlpn":["h3"]}`, server.ErrConfig, nil},
		{"a wrong type", `{"quicAlpn":["ok", 1]}`, server.ErrInvalidArgument, nil},
		{"not JSON", `{`, server.ErrInvalidArgument, nil},
		{"certificate without key", `{"certPem":"x"}`, server.ErrConfig, nil},
		{"reusePort with its worker", `{"reusePort":true,"workerId":3,"workers":4}`, nil, func(c server.Config) bool {
			return c.ReusePort && c.WorkerID == 3 && c.Workers == 4
		}},
		{"worker not below workers", `{"reusePort":true,"workerId":4,"workers":4}`, server.ErrConfig, nil},
		{"worker 256", `{"workerId":256}`, server.ErrConfig, nil},
		{"cluster secret", `{"clusterSecret":"sixteen bytes ok"}`, nil, func(c server.Config) bool { return string(c.ClusterSecret) == "sixteen bytes ok" }},
		{"a short cluster secret", `{"clusterSecret":"short"}`, server.ErrConfig, nil},
		{"no cluster secret", `{"clusterSecret":null}`, nil, func(c server.Config) bool { return c.ClusterSecret == nil }},
		{"0-RTT off", `{"zeroRtt":false}`, nil, func(c server.Config) bool { return c.Disable0RTT }},
		{"0-RTT on", `{"zeroRtt":true}`, nil, func(c server.Config) bool { return !c.Disable0RTT }},
		{"QUIC-LB", `{"quicLbServerId":"0a1B","quicLbConfigRotation":2}`, nil, func(c server.Config) bool {
			return slices.Equal(c.QUICLBServerID, []byte{0x0a, 0x1b}) && c.QUICLBConfigRotation == 2
		}},
		{"QUIC-LB server ID not hex", `{"quicLbServerId":"xyz"}`, server.ErrInvalidArgument, nil},
		{"QUIC-LB server ID too long", `{"quicLbServerId":"0102030405060708090a0b"}`, server.ErrConfig, nil},
		{"QUIC-LB rotation 7", `{"quicLbConfigRotation":7}`, server.ErrConfig, nil},
		{"reusePort of another type", `{"reusePort":1}`, server.ErrInvalidArgument, nil},
		{"a bad certificate", `{"certPem":"x","keyPem":"y"}`, server.ErrConfig, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewServer(server.Config{QuicAlpn: []string{"x", "y"}, MaxConnections: 7})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.SetOptions([]byte(c.spec))
			after := s.Config()
			if c.err != nil {
				// A refused call changes nothing, not even in place.
				if !errors.Is(err, c.err) || !slices.Equal(after.QuicAlpn, []string{"x", "y"}) || after.MaxConnections != 7 {
					t.Fatalf("%s: %v; config %+v", c.spec, err, after)
				}
				return
			}
			if err != nil || !c.check(after) {
				t.Fatalf("%s: %v; config %+v", c.spec, err, after)
			}
		})
	}
}

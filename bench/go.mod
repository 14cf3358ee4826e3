module github.com/zig-h3/h3bun/bench

go 1.26.0

require (
	github.com/quic-go/quic-go v0.64.1
	github.com/quic-go/webtransport-go v0.13.0
	github.com/zig-h3/h3bun v0.0.0-00010101000000-000000000000
)

require (
	github.com/dunglas/httpsfv v1.1.1 // indirect
	github.com/quic-go/qpack v0.6.0 // indirect
	golang.org/x/crypto v0.54.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)

replace github.com/zig-h3/h3bun => ../

replace github.com/quic-go/webtransport-go => ../third_party/webtransport-go

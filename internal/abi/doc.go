// Package abi holds the constants of the C ABI (include/zig_h3.h) for Go:
// return codes, event types, the field offsets of the event structs,
// counter indexes and limits. abi_gen.go is generated from the header, as
// is bun/abi.gen.ts for Bun; edit the header and run go generate.
package abi

//go:generate go run ./gen

// Package thirdparty has no code: its tests check the copies of
// third-party modules in third_party/ (see third_party/README.md).
// third_party/webtransport-go must be upstream webtransport-go, at the
// version go.mod requires, plus third_party/webtransport-go.patch, and both
// go.mod files must replace the module with it.
package thirdparty

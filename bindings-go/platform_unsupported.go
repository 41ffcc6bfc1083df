//go:build !(linux && amd64) || !cgo

package imagecheck

// This module links a prebuilt Rust library (lib/GOOS_GOARCH/, ffi.go) through cgo, and ships
// it for linux/amd64 only. Anywhere else the build stops here, with the sentence below in the
// compiler's error, rather than at the linker with a list of undefined symbols.
var _ int = "imagecheck: unsupported platform: the library ships for linux/amd64 only and needs cgo (GOOS=linux GOARCH=amd64 CGO_ENABLED=1 and a C compiler)"

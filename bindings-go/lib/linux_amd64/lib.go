// Package linux_amd64 holds the prebuilt imagecheck static library for linux/amd64
// (libimagecheck.a), which ffi.go links. It has no Go API: it is a package only so that
// `go mod vendor` copies this directory (see vendor_dirs.go). In the repository the library is
// not committed: `go generate` in bindings-go builds and copies it here.
package linux_amd64

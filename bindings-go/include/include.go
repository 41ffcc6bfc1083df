// Package include holds the C header of the imagecheck library (imagecheck.h), for ffi.go's
// cgo preamble. It has no Go API: it is a package only so that `go mod vendor` copies this
// directory (see vendor_dirs.go).
package include

//go:build imagecheck_vendor_dirs

package imagecheck

// Never built (no one sets the tag): `go mod vendor` copies only directories holding Go
// packages that are imported, under any build tags, so these imports keep the C header and the
// prebuilt library in a consumer's vendor/ tree.
import (
	_ "imagecheck.dev/imagecheck/bindings-go/include"
	_ "imagecheck.dev/imagecheck/bindings-go/lib/linux_amd64"
)

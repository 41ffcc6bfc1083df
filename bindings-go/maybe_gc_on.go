//go:build imagecheck_gc

package imagecheck

import "runtime"

// maybeGC forces a collection inside every call (-tags imagecheck_gc), so that a missing
// runtime.KeepAlive frees a handle while C still uses it and the tests crash.
func maybeGC() { runtime.GC() }

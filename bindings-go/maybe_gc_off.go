//go:build !imagecheck_gc

package imagecheck

// maybeGC does nothing; build with -tags imagecheck_gc to force a GC inside every call.
func maybeGC() {}

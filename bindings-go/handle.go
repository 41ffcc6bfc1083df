package imagecheck

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// handle owns one object of the Rust library, reached through the C ABI: the pointer (nil
// after close, read atomically so a racing Close is seen), whether it is a process-wide object
// that is never freed, and the cleanup that frees it if its owner becomes unreachable without
// Close. The pointer is untyped because cgo's opaque C types cannot be type arguments; each
// owner converts it back in one place.
type handle struct {
	p       atomic.Pointer[byte]
	shared  bool
	cleanup runtime.Cleanup
	free    func(unsafe.Pointer)
	what    string // names the owner in the use-after-Close panic
}

// initHandle makes h own p on behalf of owner (the exported value h is a field of): freed by
// close, or by a cleanup once owner is unreachable. A shared p is never freed. free must not
// refer to owner, or owner would never be unreachable.
func initHandle[O any](owner *O, h *handle, p unsafe.Pointer, shared bool, free func(unsafe.Pointer), what string) {
	h.p.Store((*byte)(p))
	h.shared = shared
	h.free = free
	h.what = what
	if !shared {
		h.cleanup = runtime.AddCleanup(owner, free, p)
	}
}

// ptr is the live pointer; using a closed handle is a programming error and panics rather
// than handing C a dangling pointer. Callers keep the owner alive across the C call
// (runtime.KeepAlive) so the cleanup cannot run in the middle of it.
func (h *handle) ptr() unsafe.Pointer {
	p := h.p.Load()
	if p == nil {
		panic("imagecheck: " + h.what + " used after Close")
	}
	maybeGC()
	return unsafe.Pointer(p)
}

// close frees the object once; later calls, and calls on a shared handle, do nothing.
func (h *handle) close() {
	if h.shared {
		return
	}
	if p := h.p.Swap(nil); p != nil {
		h.cleanup.Stop()
		h.free(unsafe.Pointer(p))
	}
}

package imagecheck

/*
#include <stdlib.h>
#include "imagecheck.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// EngineFunc answers a custom engine's resolve: the digest ("sha256:<64 hex>") of ref (the
// normalised reference, "registry/repository:tag"), or an error. Return an error wrapping an
// [*Error] with a Cause (for example &Error{Kind: KindDigestUnavailable, Cause: CauseNotFound})
// to choose the cause callers see; any other error is CauseEngine. The function runs on a
// library thread, possibly concurrently; ctx is context.Background() (a resolve shared by
// several callers is not cancelled by one of them). A panic is recovered and reported as an
// engine error.
type EngineFunc func(ctx context.Context, ref string) (string, error)

type engineEntry struct {
	name string
	fn   EngineFunc
}

// RegisterEngine registers (or replaces) the custom engine name on [Default]; resolve with
// Engine(name). Names are lowercase letters, digits, '-', '_', '.' (at most 64 bytes).
func RegisterEngine(name string, fn EngineFunc) error {
	return Default().RegisterEngine(name, fn)
}

// RegisterEngine registers (or replaces) the custom engine name on r.
func (r *Resolver) RegisterEngine(name string, fn EngineFunc) error {
	if fn == nil {
		return &Error{Kind: KindInvalidArgument, Message: "invalid argument: engine function is nil"}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	h := cgo.NewHandle(&engineEntry{name: name, fn: fn})
	e := registerGoEngine(r.ptr(), cname, uintptr(h))
	runtime.KeepAlive(r)
	if err := takeError(e); err != nil {
		h.Delete() // on failure the library took nothing
		return err
	}
	return nil
}

// callEngine runs the Go function, turning a panic into an error (Go panics never unwind
// through C).
func callEngine(entry *engineEntry, ref string) (digest string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("custom engine %q panicked: %v", entry.name, p)
		}
	}()
	return entry.fn(context.Background(), ref)
}

//export imagecheckGoEngine
func imagecheckGoEngine(userData unsafe.Pointer, reference *C.char, _ *C.imagecheck_credentials_t, result *C.imagecheck_engine_result_t) {
	entry := cgo.Handle(uintptr(userData)).Value().(*engineEntry)
	digest, err := callEngine(entry, C.GoString(reference))
	if err != nil {
		cause := CauseEngine
		var e *Error
		if errors.As(err, &e) && e.Cause != CauseNone {
			cause = e.Cause
		}
		msg := C.CString(fmt.Sprintf("custom engine %q: %v", entry.name, err))
		C.imagecheck_engine_result_set_error(result, C.uint32_t(cause), msg)
		C.free(unsafe.Pointer(msg))
		return
	}
	cdigest := C.CString(digest)
	C.imagecheck_engine_result_set_digest(result, cdigest)
	C.free(unsafe.Pointer(cdigest))
}

//export imagecheckGoEngineFree
func imagecheckGoEngineFree(userData unsafe.Pointer) {
	cgo.Handle(uintptr(userData)).Delete()
}

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
	"strings"
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
	var args cArgs
	defer args.free()
	cname := args.str(name, KindInvalidArgument, "engine name")
	if args.err != nil {
		return args.err
	}
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
	cause := CauseEngine
	var e *Error
	if err != nil && errors.As(err, &e) && e.Cause != CauseNone {
		cause = e.Cause
	}
	if err == nil && checkNUL(digest, KindDigestUnavailable, "digest") != nil {
		// Cut short at the NUL it could pass for a valid digest: refuse it instead.
		err, cause = errors.New("answered a digest containing a NUL byte"), CauseInvalidResponse
	}
	var args cArgs
	defer args.free()
	if err != nil {
		// The message is ours to build: a NUL in the engine's error text is shown, not cut.
		text := strings.ReplaceAll(fmt.Sprintf("custom engine %q: %v", entry.name, err), "\x00", `\x00`)
		C.imagecheck_engine_result_set_error(result, C.uint32_t(cause), args.str(text, KindInvalidArgument, "engine error"))
		return
	}
	C.imagecheck_engine_result_set_digest(result, args.str(digest, KindInvalidArgument, "digest"))
}

//export imagecheckGoEngineFree
func imagecheckGoEngineFree(userData unsafe.Pointer) {
	cgo.Handle(uintptr(userData)).Delete()
}

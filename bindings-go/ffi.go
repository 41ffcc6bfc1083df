package imagecheck

// Everything about how this package links lives in this file.
//
// The Rust library is linked statically: build it first with
//
//	cargo build --release -p imagecheck-capi --locked
//
// (or `go generate`), which writes ../target/release/libimagecheck.a. To link a library from
// elsewhere, point the linker at its directory: CGO_LDFLAGS="-L$IMAGECHECK_LIB_DIR" (searched
// before the default directory). Never link a second Rust staticlib into the same binary.

/*
#cgo CFLAGS: -I${SRCDIR}/../bindings-c/include
#cgo LDFLAGS: -L${SRCDIR}/../target/release -l:libimagecheck.a -lm -ldl -lpthread
// The warm-resolve fast path keeps its buffers on the Go stack: the C side neither retains Go
// pointers nor calls back into Go.
#cgo noescape imagecheck_resolver_start
#cgo nocallback imagecheck_resolver_start
#include <stdlib.h>
#include "imagecheck.h"

// Defined in engine.go (exported Go functions); declared here for the C side.
extern void imagecheckGoEngine(void *user_data, char *reference, imagecheck_credentials_t *credentials, imagecheck_engine_result_t *result);
extern void imagecheckGoEngineFree(void *user_data);

static imagecheck_error_t *imagecheck_register_go_engine(const imagecheck_resolver_t *resolver, const char *name, uintptr_t handle) {
	return imagecheck_resolver_register_engine(resolver, name,
		(imagecheck_engine_callback)imagecheckGoEngine, (void *)handle,
		(imagecheck_free_callback)imagecheckGoEngineFree);
}
*/
import "C"

//go:generate cargo build --release -p imagecheck-capi --locked

// registerGoEngine registers the exported Go trampoline as a custom engine whose user data is
// the cgo.Handle h (a C function in this file's preamble, so it is called from here).
func registerGoEngine(r *C.imagecheck_resolver_t, name *C.char, h uintptr) *C.imagecheck_error_t {
	return C.imagecheck_register_go_engine(r, name, C.uintptr_t(h))
}

package imagecheck

// Everything about how this package links lives in this file.
//
// The Rust library (bindings-c's staticlib) is linked statically from lib/GOOS_GOARCH/ inside
// this module, so a program that requires the module needs no Rust toolchain: the packaged
// module (packaging/build writes it to dist/go/) carries a stripped prebuilt library there.
// Inside the repository that directory is not committed; `go generate` builds the library and
// copies it in (generate-lib.sh). Platforms with no library fail to compile with a message
// naming the supported ones (platform_unsupported.go), not with a linker error. To link a
// library from elsewhere, CGO_LDFLAGS="-L$IMAGECHECK_LIB_DIR" is searched first. Never link a
// second Rust staticlib into the same binary.
//
// include/ holds the C header (in the repository a link to bindings-c/include/imagecheck.h).

/*
#cgo CFLAGS: -I${SRCDIR}/include
// The system libraries after the archive are what rustc prints for a Rust static library of this
// target (`--print native-static-libs`, less -lc); packaging/build checks this line against it.
#cgo linux,amd64 LDFLAGS: -L${SRCDIR}/lib/linux_amd64 -l:libimagecheck.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
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

//go:generate ./generate-lib.sh

// registerGoEngine registers the exported Go trampoline as a custom engine whose user data is
// the cgo.Handle h (a C function in this file's preamble, so it is called from here).
func registerGoEngine(r *C.imagecheck_resolver_t, name *C.char, h uintptr) *C.imagecheck_error_t {
	return C.imagecheck_register_go_engine(r, name, C.uintptr_t(h))
}

package imagecheck

/*
#include <stdlib.h>
#include "imagecheck.h"
*/
import "C"

// Reference is a parsed, normalised image reference.
type Reference struct {
	Canonical  string // "docker.io/library/nginx:1.27"
	Registry   string // "docker.io"
	Repository string // "library/nginx"
	Tag        string // "" when absent
	Digest     string // "" when absent
}

// String is the canonical form.
func (r Reference) String() string { return r.Canonical }

// ParseReference parses and normalises s with Docker's grammar ("nginx" is
// "docker.io/library/nginx:latest"). An invalid input is [ErrInvalidReference].
func ParseReference(s string) (Reference, error) {
	var args cArgs
	defer args.free()
	cs := args.str(s, KindInvalidReference, "reference")
	if args.err != nil {
		return Reference{}, args.err
	}
	var p *C.imagecheck_reference_t
	maybeGC()
	if err := takeError(C.imagecheck_reference_parse(cs, &p)); err != nil {
		return Reference{}, err
	}
	defer C.imagecheck_reference_free(p)
	opt := func(s *C.char) string {
		if s == nil {
			return ""
		}
		return C.GoString(s)
	}
	return Reference{
		Canonical:  C.GoString(C.imagecheck_reference_canonical(p)),
		Registry:   C.GoString(C.imagecheck_reference_registry(p)),
		Repository: C.GoString(C.imagecheck_reference_repository(p)),
		Tag:        opt(C.imagecheck_reference_tag(p)),
		Digest:     opt(C.imagecheck_reference_digest(p)),
	}, nil
}

package imagecheck

/*
#include <stdlib.h>
#include "imagecheck.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// cArgs holds the C copies of one call's string arguments. The first unusable string is kept
// as err and the strings after it are not copied; free releases every copy.
//
//	var args cArgs
//	defer args.free()
//	cref := args.str(ref, KindInvalidReference, "reference")
//	if args.err != nil { return args.err }
type cArgs struct {
	copies []*C.char
	err    error
}

// str is a C copy of s, or nil (and args.err set) when s cannot reach C whole.
func (a *cArgs) str(s string, kind Kind, what string) *C.char {
	if a.err != nil {
		return nil
	}
	if a.err = checkNUL(s, kind, what); a.err != nil {
		return nil
	}
	p := C.CString(s)
	a.copies = append(a.copies, p)
	return p
}

// credentials is a C view of c (nil for nil); its strings are owned by a.
func (a *cArgs) credentials(c *Credentials) *C.imagecheck_credentials_t {
	if c == nil {
		return nil
	}
	return &C.imagecheck_credentials_t{
		host:     a.str(c.Host, KindInvalidArgument, "credentials host"),
		username: a.str(c.Username, KindInvalidArgument, "credentials username"),
		password: a.str(c.Password, KindInvalidArgument, "credentials password"),
	}
}

func (a *cArgs) free() {
	for _, p := range a.copies {
		C.free(unsafe.Pointer(p))
	}
	a.copies = nil
}

// checkNUL refuses a string containing a NUL byte: C would see only the part before it
// (C.CString copies it all, C reads up to the first NUL), so "ghcr.io/org/app:v1\x00evil"
// would be resolved and verified as "ghcr.io/org/app:v1". The error names what the string is;
// only a reference is quoted (any other string may be a secret).
func checkNUL(s string, kind Kind, what string) error {
	if strings.IndexByte(s, 0) < 0 {
		return nil
	}
	if kind == KindInvalidReference {
		return &Error{Kind: kind, Message: fmt.Sprintf("invalid reference %q: contains a NUL byte", s)}
	}
	return &Error{Kind: kind, Message: fmt.Sprintf("invalid argument: %s contains a NUL byte", what)}
}

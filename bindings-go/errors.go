package imagecheck

/*
#include "imagecheck.h"
*/
import "C"

import (
	"context"
	"fmt"
)

// Kind is the stable kind of an [Error] (the same codes in every binding and in the C ABI).
type Kind uint32

// The error kinds (DESIGN.md, "Errors").
const (
	KindInvalidReference   Kind = 1 // the input is not a reference of an accepted form
	KindDigestUnavailable  Kind = 2 // the engine could not give a digest; fall back to the tag
	KindVerificationFailed Kind = 3 // a rule matched and its signature check failed
	KindDenied             Kind = 4 // a deny rule matched
	KindInvalidPolicy      Kind = 5 // rules or trust root cannot be loaded
	KindCancelled          Kind = 6 // the call was cancelled (Go callers see ctx.Err() instead)
	KindInvalidArgument    Kind = 7 // an argument other than the reference is unusable
)

var kindNames = [...]string{
	KindInvalidReference:   "InvalidReference",
	KindDigestUnavailable:  "DigestUnavailable",
	KindVerificationFailed: "VerificationFailed",
	KindDenied:             "Denied",
	KindInvalidPolicy:      "InvalidPolicy",
	KindCancelled:          "Cancelled",
	KindInvalidArgument:    "InvalidArgument",
}

// String is the kind's name as the CLI's --json output spells it ("DigestUnavailable", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint32(k))
}

// Cause says why a digest was unavailable (only on [KindDigestUnavailable] errors).
type Cause uint32

// The causes of a [KindDigestUnavailable] error.
const (
	CauseNone            Cause = 0 // not a DigestUnavailable error
	CauseNotFound        Cause = 1 // the registry does not know the repository or tag
	CauseUnauthorized    Cause = 2 // credentials were missing or refused
	CauseRateLimited     Cause = 3 // HTTP 429
	CauseNetwork         Cause = 4 // connection refused, reset, DNS, TLS
	CauseTimeout         Cause = 5 // the request took longer than the configured timeout
	CauseNoDigestSource  Cause = 6 // the engine cannot know a digest before a run (kubernetes)
	CauseInvalidResponse Cause = 7 // the server answered something unusable
	CauseEngine          Cause = 8 // the engine itself failed (a custom engine's error)
)

var causeNames = [...]string{
	CauseNone:            "",
	CauseNotFound:        "not found",
	CauseUnauthorized:    "unauthorized",
	CauseRateLimited:     "rate limited",
	CauseNetwork:         "network",
	CauseTimeout:         "timeout",
	CauseNoDigestSource:  "no digest source",
	CauseInvalidResponse: "invalid response",
	CauseEngine:          "engine error",
}

// String is the cause's name as core spells it ("not found", "unauthorized", ...).
func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(%d)", uint32(c))
}

// Error is every error this package returns (except ctx.Err() for a cancelled context).
// Compare kinds with errors.Is and the sentinels ([ErrDigestUnavailable], ...), or read Kind.
type Error struct {
	Kind    Kind
	Message string // for people; never contains credentials
	Cause   Cause  // set for KindDigestUnavailable
	// Failures lists the signature candidates a KindVerificationFailed error checked, in the
	// order they were tried (empty for other kinds, and when the registry could not be read).
	Failures []CandidateFailure
}

// CandidateFailure is one signature candidate a failed verification checked.
type CandidateFailure struct {
	Source  string // where it was found: "referrers", "referrers_tag", "legacy_tag"
	Check   string // the check it failed, a stable name: "wrong_key", "identity_mismatch", ...
	Message string // for people
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "imagecheck: " + e.Kind.String()
	}
	return "imagecheck: " + e.Message
}

// Is reports whether target is the sentinel of e's kind (errors.Is(err, ErrDenied)); a
// KindCancelled error is also context.Canceled.
func (e *Error) Is(target error) bool {
	if target == context.Canceled {
		return e.Kind == KindCancelled
	}
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Cause == CauseNone && t.Kind == e.Kind
}

// Sentinels for errors.Is: errors.Is(err, imagecheck.ErrDigestUnavailable).
var (
	ErrInvalidReference   error = &Error{Kind: KindInvalidReference}
	ErrDigestUnavailable  error = &Error{Kind: KindDigestUnavailable}
	ErrVerificationFailed error = &Error{Kind: KindVerificationFailed}
	ErrDenied             error = &Error{Kind: KindDenied}
	ErrInvalidPolicy      error = &Error{Kind: KindInvalidPolicy}
	ErrInvalidArgument    error = &Error{Kind: KindInvalidArgument}
)

// takeError converts and frees a C error (nil for NULL).
func takeError(e *C.imagecheck_error_t) error {
	if e == nil {
		return nil
	}
	defer C.imagecheck_error_free(e)
	err := &Error{
		Kind:    Kind(C.imagecheck_error_kind(e)),
		Message: C.GoString(C.imagecheck_error_message(e)),
		Cause:   Cause(C.imagecheck_error_cause(e)),
	}
	if n := int(C.imagecheck_error_failure_count(e)); n > 0 {
		err.Failures = make([]CandidateFailure, 0, n)
		for i := range n {
			var source, check, message *C.char
			if C.imagecheck_error_failure(e, C.size_t(i), &source, &check, &message) {
				err.Failures = append(err.Failures, CandidateFailure{
					Source:  C.GoString(source),
					Check:   C.GoString(check),
					Message: C.GoString(message),
				})
			}
		}
	}
	return err
}

// ctxError turns a Rust-side cancellation into the context's own error.
func ctxError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if e, ok := err.(*Error); ok && e.Kind == KindCancelled {
			return ctxErr
		}
	}
	return err
}

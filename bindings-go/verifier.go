package imagecheck

/*
#include <stdlib.h>
#include "imagecheck.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Verification is the answer of a verify call that did not fail.
type Verification struct {
	// Verified is true only when a rule's signature check passed (false for "no rule matched"
	// and for skip rules).
	Verified bool
	// Message says what happened: the rule (index and pattern) and how it was verified.
	Message string
	// DigestedRef is "registry/repository@sha256:…" when the digest is known (always when
	// Verified), else "".
	DigestedRef string
}

// Verifier checks image signatures against an ordered rule list. Safe for concurrent use.
type Verifier struct {
	h handle // owns a *C.imagecheck_verifier_t
}

// VerifierOption configures [NewVerifier].
type VerifierOption func(*verifierOptions)

type verifierOptions struct {
	ResolveTTLMS *int64 `json:"resolve_ttl_ms,omitempty"`
	ResultTTLMS  *int64 `json:"result_ttl_ms,omitempty"`
	TrustedRoot  string `json:"trusted_root,omitempty"`
	// Named trusted roots, name to trusted_root.json path.
	TrustedRoots         map[string]string `json:"trusted_roots,omitempty"`
	TUFURL               string            `json:"tuf_url,omitempty"`
	TUFRoot              string            `json:"tuf_root,omitempty"`
	TUFCacheDir          string            `json:"tuf_cache_dir,omitempty"`
	TUFRefreshIntervalMS *int64            `json:"tuf_refresh_interval_ms,omitempty"`
	resolver             *Resolver
}

// WithResolver resolves tags through r (default: [Default], sharing its cache). The verifier
// keeps its own reference: r may be closed afterwards.
func WithResolver(r *Resolver) VerifierOption {
	return func(o *verifierOptions) { o.resolver = r }
}

// WithResolveTTL accepts a cached tag digest this old (default 0: a moved tag is seen at once).
func WithResolveTTL(d time.Duration) VerifierOption {
	return func(o *verifierOptions) { ms := ttlMillis(d); o.ResolveTTLMS = &ms }
}

// WithResultTTL reuses successful verifications this long (default 5 minutes; 0 disables).
func WithResultTTL(d time.Duration) VerifierOption {
	return func(o *verifierOptions) { ms := ttlMillis(d); o.ResultTTLMS = &ms }
}

// WithTrustedRoot verifies keyless rules against the Sigstore trusted_root.json at path (a
// private Sigstore deployment) instead of the embedded public-good root. A file that cannot be
// loaded makes [NewVerifier] fail with [ErrInvalidPolicy].
func WithTrustedRoot(path string) VerifierOption {
	return func(o *verifierOptions) { o.TrustedRoot = path }
}

// WithNamedTrustedRoot also holds the Sigstore trusted_root.json at path under name, for
// keyless rules that name it (`trustedRoot: NAME` in the policy); rules naming none use the
// default root. Repeatable, one name each. A file that cannot be loaded, or a rule naming a
// root not given, makes [NewVerifier] fail with [ErrInvalidPolicy].
func WithNamedTrustedRoot(name, path string) VerifierOption {
	return func(o *verifierOptions) {
		if o.TrustedRoots == nil {
			o.TrustedRoots = map[string]string{}
		}
		o.TrustedRoots[name] = path
	}
}

// WithTUF keeps the default trusted root current from the TUF repository at url (Sigstore's
// public-good one is https://tuf-repo-cdn.sigstore.dev), refreshed in the background and
// cached on disk; verifying never waits for it while the cached copy is valid, and keyless
// rules fail closed once it has expired and no refresh succeeds. rootPath is the repository's
// TUF root.json ("" for Sigstore's public-good repository, whose root is embedded). Not with
// [WithTrustedRoot].
func WithTUF(url, rootPath string) VerifierOption {
	return func(o *verifierOptions) { o.TUFURL = url; o.TUFRoot = rootPath }
}

// WithTUFCacheDir keeps the verified TUF copy under dir (default
// $XDG_CACHE_HOME/imagecheck/tuf, else ~/.cache/imagecheck/tuf).
func WithTUFCacheDir(dir string) VerifierOption {
	return func(o *verifierOptions) { o.TUFCacheDir = dir }
}

// WithTUFRefreshInterval asks the TUF repository again at most this often (default 24 hours).
func WithTUFRefreshInterval(d time.Duration) VerifierOption {
	return func(o *verifierOptions) { ms := ttlMillis(d); o.TUFRefreshIntervalMS = &ms }
}

func newVerifier(p *C.imagecheck_verifier_t, shared bool) *Verifier {
	v := &Verifier{}
	initHandle(v, &v.h, unsafe.Pointer(p), shared, freeVerifier, "Verifier")
	return v
}

func freeVerifier(p unsafe.Pointer) { C.imagecheck_verifier_free((*C.imagecheck_verifier_t)(p)) }

var defaultVerifier = sync.OnceValue(func() *Verifier {
	var p *C.imagecheck_verifier_t
	if err := takeError(C.imagecheck_verifier_default(&p)); err != nil {
		panic(err) // cannot happen: only argument errors are possible, and there are none
	}
	return newVerifier(p, true)
})

// DefaultVerifier is the process-wide verifier: rules from the file named by
// IMAGECHECK_POLICY (none when unset: nothing matches), replaceable at run time with
// [Verifier.SetPolicy] / [Verifier.LoadPolicy]; it shares [Default]'s cache. Close does nothing.
func DefaultVerifier() *Verifier { return defaultVerifier() }

// NewVerifier is a verifier with the rules in policy (YAML or JSON text: a Talos
// ImageVerificationConfig document, a "rules:" document or a bare rule list). An unusable
// policy is [ErrInvalidPolicy].
func NewVerifier(policy string, opts ...VerifierOption) (*Verifier, error) {
	var o verifierOptions
	for _, opt := range opts {
		opt(&o)
	}
	text, err := json.Marshal(o)
	if err != nil {
		return nil, &Error{Kind: KindInvalidArgument, Message: err.Error()}
	}
	var args cArgs
	defer args.free()
	cpolicy := args.str(policy, KindInvalidArgument, "policy text")
	ctext := args.str(string(text), KindInvalidArgument, "verifier options")
	if args.err != nil {
		return nil, args.err
	}
	var resolver *C.imagecheck_resolver_t
	if o.resolver != nil {
		resolver = o.resolver.ptr()
	}
	var p *C.imagecheck_verifier_t
	maybeGC()
	e := C.imagecheck_verifier_new(cpolicy, ctext, resolver, &p)
	runtime.KeepAlive(o.resolver)
	if err := takeError(e); err != nil {
		return nil, err
	}
	return newVerifier(p, false), nil
}

func (v *Verifier) ptr() *C.imagecheck_verifier_t { return (*C.imagecheck_verifier_t)(v.h.ptr()) }

// Close frees the verifier. Idempotent; a no-op on [DefaultVerifier]. It must not be in use.
func (v *Verifier) Close() error {
	v.h.close()
	return nil
}

// SetPolicy replaces the rules atomically with policy (YAML/JSON text); on error the current
// rules stay. Calls under way finish with the rules they started with.
func (v *Verifier) SetPolicy(policy string) error {
	var args cArgs
	defer args.free()
	cpolicy := args.str(policy, KindInvalidArgument, "policy text")
	if args.err != nil {
		return args.err
	}
	e := C.imagecheck_verifier_set_policy(v.ptr(), cpolicy)
	runtime.KeepAlive(v)
	return takeError(e)
}

// LoadPolicy reads the rules from the file at path and swaps them in; on error the current
// rules stay.
func (v *Verifier) LoadPolicy(path string) error {
	var args cArgs
	defer args.free()
	cpath := args.str(path, KindInvalidArgument, "policy path")
	if args.err != nil {
		return args.err
	}
	e := C.imagecheck_verifier_load_policy(v.ptr(), cpath)
	runtime.KeepAlive(v)
	return takeError(e)
}

// Verify checks ref (tag or digest form) against the rules, with optional per-call creds.
// No rule matched and skip rules answer Verified == false without an error; a deny rule is
// [ErrDenied]; a failed check is [ErrVerificationFailed]. When ctx ends first, Verify returns
// ctx.Err() at once and the work is abandoned.
func (v *Verifier) Verify(ctx context.Context, ref string, creds *Credentials) (Verification, error) {
	var args cArgs
	defer args.free()
	cref := args.str(ref, KindInvalidReference, "reference")
	ccreds := args.credentials(creds)
	if args.err != nil {
		return Verification{}, args.err
	}
	var out *C.imagecheck_verification_t
	err := withCancel(ctx, func(cancel *C.imagecheck_cancel_t) error {
		p := v.ptr()
		e := C.imagecheck_verifier_verify(p, cref, ccreds, cancel, &out)
		runtime.KeepAlive(v)
		return takeError(e)
	})
	if err != nil {
		return Verification{}, err
	}
	defer C.imagecheck_verification_free(out)
	result := Verification{
		Verified: bool(C.imagecheck_verification_verified(out)),
		Message:  C.GoString(C.imagecheck_verification_message(out)),
	}
	if d := C.imagecheck_verification_digested_ref(out); d != nil {
		result.DigestedRef = C.GoString(d)
	}
	return result, nil
}

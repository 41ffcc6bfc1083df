package imagecheck

/*
#include <stdlib.h>
#include "imagecheck.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Engine names where a digest comes from. Custom engines registered with [RegisterEngine] are
// named by any other Engine value (lowercase letters, digits, '-', '_', '.').
type Engine string

// The built-in engines.
const (
	Registry   Engine = "registry"   // ask the registry over the OCI distribution API (default)
	Docker     Engine = "docker"     // the local Docker daemon (image inspect, pull if absent)
	Podman     Engine = "podman"     // the local Podman API socket
	Kubernetes Engine = "kubernetes" // no digest source: always ErrDigestUnavailable
)

// Credentials are per-call registry credentials for one registry Host (as references spell
// it: "ghcr.io", "127.0.0.1:5000"). They are used only for references on that host, and an
// answer obtained with them is never served to a caller with other or no credentials.
//
// Printing them never shows the password: every fmt verb (%v, %+v, %#v, %s, ...) and log/slog
// use the redacted forms below.
type Credentials struct {
	Host     string
	Username string
	Password string
}

const redacted = "<redacted>"

// String shows the host and username, never the password.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{Host: %q, Username: %q, Password: %s}", c.Host, c.Username, redacted)
}

// GoString is the %#v form, password redacted.
func (c Credentials) GoString() string {
	return fmt.Sprintf("imagecheck.Credentials{Host:%q, Username:%q, Password:%q}", c.Host, c.Username, redacted)
}

// Format prints String for every verb (GoString for %#v): without it, verbs that bypass
// String (%x, %d, ...) would print every field.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, c.GoString())
		return
	}
	_, _ = io.WriteString(f, c.String())
}

// LogValue keeps the password out of log/slog records, whatever the handler (JSON too).
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.String("username", c.Username),
		slog.String("password", redacted),
	)
}

// MarshalJSON writes the redacted form, so encoding/json (a struct logged as JSON, an error
// report, a debug dump) never writes the password either. Credentials are therefore not
// round-tripped through JSON: read them from your own config type and build the struct.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Host     string `json:"host"`
		Username string `json:"username"`
		Password string `json:"password"`
	}{c.Host, c.Username, redacted})
}

// Resolver resolves image references to content digests with a TTL cache. Safe for concurrent
// use. Get the process-wide one with [Default] or a private one with [NewResolver].
type Resolver struct {
	h handle // owns a *C.imagecheck_resolver_t
}

// ResolverOption configures [NewResolver].
type ResolverOption func(*resolverOptions)

type resolverOptions struct {
	InsecureRegistries           []string `json:"insecure_registries,omitempty"`
	RequestTimeoutMS             *int64   `json:"request_timeout_ms,omitempty"`
	FromEnv                      *bool    `json:"from_env,omitempty"`
	RegistriesConf               *string  `json:"registries_conf,omitempty"`
	HostsDir                     *string  `json:"hosts_dir,omitempty"`
	MaxRetries                   *uint32  `json:"max_retries,omitempty"`
	MaxConcurrentRequestsPerHost *uint64  `json:"max_concurrent_requests_per_host,omitempty"`
	SharedCache                  string   `json:"shared_cache,omitempty"`
}

// WithInsecureRegistries marks registries ("host:port") reached over plain HTTP.
func WithInsecureRegistries(hosts ...string) ResolverOption {
	return func(o *resolverOptions) { o.InsecureRegistries = append(o.InsecureRegistries, hosts...) }
}

// WithRequestTimeout bounds each registry request.
func WithRequestTimeout(d time.Duration) ResolverOption {
	return func(o *resolverOptions) { ms := d.Milliseconds(); o.RequestTimeoutMS = &ms }
}

// WithRegistriesConf routes registry requests through the mirrors of this containers
// registries.conf (v2, with the drop-ins of the registries.conf.d beside it) and refuses the
// registries it blocks (ErrInvalidArgument, naming the file and entry). Without it a resolver
// reading the environment uses CONTAINERS_REGISTRIES_CONF, else the standard paths when present.
func WithRegistriesConf(path string) ResolverOption {
	return func(o *resolverOptions) { o.RegistriesConf = &path }
}

// WithHostsDir routes registry requests through the mirrors of this containerd config_path
// directory (<host>/hosts.toml). Without it a resolver reading the environment uses
// IMAGECHECK_HOSTS_DIR.
func WithHostsDir(dir string) ResolverOption {
	return func(o *resolverOptions) { o.HostsDir = &dir }
}

// WithMaxRetries sets how often a registry request answered 429 (or 503 with Retry-After) is
// retried within the call's deadline (default 2; 0 never retries).
func WithMaxRetries(n uint32) ResolverOption {
	return func(o *resolverOptions) { o.MaxRetries = &n }
}

// WithMaxConcurrentRequestsPerHost caps the registry requests in flight to one host at once
// (default 16); more wait their turn.
func WithMaxConcurrentRequestsPerHost(n uint64) ResolverOption {
	return func(o *resolverOptions) { o.MaxConcurrentRequestsPerHost = &n }
}

// WithoutEnv ignores the environment (IMAGECHECK_INSECURE_REGISTRIES, DOCKER_CONFIG,
// REGISTRY_AUTH_FILE, CONTAINERS_REGISTRIES_CONF, IMAGECHECK_HOSTS_DIR), which a new resolver
// otherwise reads as the default one does.
func WithoutEnv() ResolverOption {
	return func(o *resolverOptions) { f := false; o.FromEnv = &f }
}

// WithSharedCache shares tag answers and signature artifacts with the other nodes of a fleet
// through the Redis or Valkey at url ("redis://[user:password@]host[:port][/db]", "rediss://…",
// "unix:///path.sock"; the default reads IMAGECHECK_SHARED_CACHE). Verdicts and anything read
// with credentials are never shared; a tier that does not answer never fails a call. An
// unusable URL makes [NewResolver] fail with KindInvalidArgument.
func WithSharedCache(url string) ResolverOption {
	return func(o *resolverOptions) { o.SharedCache = url }
}

func newResolver(p *C.imagecheck_resolver_t, shared bool) *Resolver {
	r := &Resolver{}
	initHandle(r, &r.h, unsafe.Pointer(p), shared, freeResolver, "Resolver")
	return r
}

func freeResolver(p unsafe.Pointer) { C.imagecheck_resolver_free((*C.imagecheck_resolver_t)(p)) }

var defaultResolver = sync.OnceValue(func() *Resolver {
	var p *C.imagecheck_resolver_t
	if err := takeError(C.imagecheck_resolver_default(&p)); err != nil {
		panic(err) // cannot happen: only argument errors are possible, and there are none
	}
	return newResolver(p, true)
})

// Default is the process-wide resolver, built on first use from the environment
// (IMAGECHECK_INSECURE_REGISTRIES, DOCKER_CONFIG, REGISTRY_AUTH_FILE). Its cache is shared by
// every caller in the process (and by [DefaultVerifier]). Close on it does nothing.
func Default() *Resolver { return defaultResolver() }

// NewResolver is a resolver with its own cache. Close it when done (a cleanup frees it
// otherwise once it is unreachable).
func NewResolver(opts ...ResolverOption) (*Resolver, error) {
	var o resolverOptions
	for _, opt := range opts {
		opt(&o)
	}
	text, err := json.Marshal(o)
	if err != nil {
		return nil, &Error{Kind: KindInvalidArgument, Message: err.Error()}
	}
	var args cArgs
	defer args.free()
	ctext := args.str(string(text), KindInvalidArgument, "resolver options")
	if args.err != nil {
		return nil, args.err
	}
	var p *C.imagecheck_resolver_t
	maybeGC()
	if err := takeError(C.imagecheck_resolver_new(ctext, &p)); err != nil {
		return nil, err
	}
	return newResolver(p, false), nil
}

func (r *Resolver) ptr() *C.imagecheck_resolver_t { return (*C.imagecheck_resolver_t)(r.h.ptr()) }

// Close frees the resolver. Idempotent; a no-op on [Default]. The resolver must not be in use.
func (r *Resolver) Close() error {
	r.h.close()
	return nil
}

// Resolve returns the digest ("sha256:…") that ref points at now, asking engine. A cached answer
// younger than ttl is served without I/O; ttl <= 0 always asks the engine (and refreshes the
// cache for others). When ctx ends first, Resolve returns ctx.Err() at once and the request is
// abandoned. On [ErrDigestUnavailable] callers fall back to the tag.
func (r *Resolver) Resolve(ctx context.Context, engine Engine, ref string, ttl time.Duration) (string, error) {
	return r.ResolveWith(ctx, engine, ref, ttl, nil)
}

// ResolveWith is [Resolver.Resolve] with per-call credentials (nil: none).
func (r *Resolver) ResolveWith(ctx context.Context, engine Engine, ref string, ttl time.Duration, creds *Credentials) (string, error) {
	ms := ttlMillis(ttl)
	if creds != nil {
		return r.resolve(ctx, engine, ref, ms, creds)
	}
	digest, call, err := r.start(engine, ref, ms)
	if call == nil {
		return digest, err
	}
	return r.wait(ctx, call)
}

func ttlMillis(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	ms := ttl.Milliseconds()
	if ttl%time.Millisecond != 0 {
		ms++ // never turn a small positive TTL into "skip the cache"
	}
	return ms
}

// digestBufSize fits every digest core accepts (sha512 is 135 bytes).
const digestBufSize = 160

// start is the allocation-light fast path: one call into Rust that parses ref once and answers
// from the cache with no I/O, no runtime work and no C strings (Go memory is passed as pointer +
// length). On a miss it hands back the pending resolve for [Resolver.wait].
func (r *Resolver) start(engine Engine, ref string, ms int64) (string, *C.imagecheck_resolve_call_t, error) {
	var buf [digestBufSize]byte
	var n C.size_t
	var call *C.imagecheck_resolve_call_t
	p := r.ptr()
	e := C.imagecheck_resolver_start(p,
		(*C.uint8_t)(unsafe.Pointer(unsafe.StringData(string(engine)))), C.size_t(len(engine)),
		(*C.uint8_t)(unsafe.Pointer(unsafe.StringData(ref))), C.size_t(len(ref)),
		C.int64_t(ms), nil,
		(*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n, &call)
	runtime.KeepAlive(r)
	if e != nil {
		return "", nil, takeError(e)
	}
	if call != nil {
		return "", call, nil
	}
	return string(buf[:n]), nil, nil
}

// wait finishes a resolve that [Resolver.start] left pending, consuming call.
func (r *Resolver) wait(ctx context.Context, call *C.imagecheck_resolve_call_t) (string, error) {
	var out *C.char
	waited := false
	err := withCancel(ctx, func(cancel *C.imagecheck_cancel_t) error {
		waited = true
		return takeError(C.imagecheck_resolve_call_wait(call, cancel, &out))
	})
	if !waited {
		C.imagecheck_resolve_call_free(call) // ctx had ended before the wait began
	}
	if err != nil {
		return "", err
	}
	defer C.imagecheck_string_free(out)
	return C.GoString(out), nil
}

func (r *Resolver) resolve(ctx context.Context, engine Engine, ref string, ms int64, creds *Credentials) (string, error) {
	var args cArgs
	defer args.free()
	cengine := args.str(string(engine), KindInvalidArgument, "engine name")
	cref := args.str(ref, KindInvalidReference, "reference")
	ccreds := args.credentials(creds)
	if args.err != nil {
		return "", args.err
	}
	var out *C.char
	err := withCancel(ctx, func(cancel *C.imagecheck_cancel_t) error {
		p := r.ptr()
		e := C.imagecheck_resolver_resolve(p, cengine, cref, C.int64_t(ms), ccreds, cancel, &out)
		runtime.KeepAlive(r)
		return takeError(e)
	})
	if err != nil {
		return "", err
	}
	defer C.imagecheck_string_free(out)
	return C.GoString(out), nil
}

// withCancel runs call with a cancel token that fires when ctx ends (nil when ctx cannot end),
// and returns ctx.Err() for a call that ctx cancelled.
func withCancel(ctx context.Context, call func(*C.imagecheck_cancel_t) error) error {
	if ctx.Done() == nil {
		return call(nil)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cancel := C.imagecheck_cancel_new()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.imagecheck_cancel_cancel(cancel)
		close(fired)
	})
	err := call(cancel)
	if !stop() {
		<-fired // the AfterFunc started: let it finish before the token is freed
	}
	C.imagecheck_cancel_free(cancel)
	return ctxError(ctx, err)
}

// CacheLen is the number of entries in the resolver's cache (for tests and diagnostics).
func (r *Resolver) CacheLen() int {
	n := C.imagecheck_resolver_cache_len(r.ptr())
	runtime.KeepAlive(r)
	return int(n)
}

// Version is the version of the linked imagecheck library.
func Version() string { return C.GoString(C.imagecheck_version()) }

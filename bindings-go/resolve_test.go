package imagecheck_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

const aDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestResolveWarmAndCold(t *testing.T) {
	h := harness(t)
	ref := h.reference(t, "hello-oci")
	want := h.digest(t, "hello-oci")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		got, err := imagecheck.Default().Resolve(ctx, imagecheck.Registry, ref, time.Minute)
		if err != nil || got != want {
			t.Fatalf("round %d: %q, %v; want %s", i, got, err, want)
		}
	}
	// ttl 0 always asks the registry again.
	if got, err := imagecheck.Default().Resolve(ctx, imagecheck.Registry, ref, 0); err != nil || got != want {
		t.Fatalf("ttl 0: %q, %v", got, err)
	}
}

func TestResolveAuth(t *testing.T) {
	h := harness(t)
	ctx := context.Background()
	for _, name := range []string{"basic", "token"} {
		r := h.Registries[name]
		image := map[string]string{"basic": "basic-hello-oci", "token": "token-private-hello-oci"}[name]
		ref := h.reference(t, image)
		creds := &imagecheck.Credentials{Host: r.Host, Username: r.Username, Password: r.Password}
		got, err := imagecheck.Default().ResolveWith(ctx, imagecheck.Registry, ref, time.Minute, creds)
		if err != nil || got != h.digest(t, image) {
			t.Fatalf("%s with credentials: %q, %v", name, got, err)
		}
		// The answer obtained with credentials is never served to an anonymous caller.
		_, err = imagecheck.Default().Resolve(ctx, imagecheck.Registry, ref, time.Minute)
		var e *imagecheck.Error
		if !errors.Is(err, imagecheck.ErrDigestUnavailable) || !errors.As(err, &e) || e.Cause != imagecheck.CauseUnauthorized {
			t.Fatalf("%s anonymous: want DigestUnavailable/unauthorized, got %v", name, err)
		}
		if strings.Contains(err.Error(), r.Password) {
			t.Fatalf("message leaks the password: %v", err)
		}
	}
}

func TestErrorsAreTyped(t *testing.T) {
	ctx := context.Background()
	_, err := imagecheck.Default().Resolve(ctx, imagecheck.Registry, "Not A Reference", time.Minute)
	if !errors.Is(err, imagecheck.ErrInvalidReference) || errors.Is(err, imagecheck.ErrDigestUnavailable) {
		t.Fatalf("want ErrInvalidReference, got %v", err)
	}
	_, err = imagecheck.Default().Resolve(ctx, "no-such-engine", "nginx:1", time.Minute)
	if !errors.Is(err, imagecheck.ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
	_, err = imagecheck.Default().Resolve(ctx, "Bad Engine", "nginx:1", time.Minute)
	if !errors.Is(err, imagecheck.ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
	_, err = imagecheck.Default().Resolve(ctx, imagecheck.Kubernetes, "nginx:1", time.Minute)
	var e *imagecheck.Error
	if !errors.As(err, &e) || e.Kind != imagecheck.KindDigestUnavailable || e.Cause != imagecheck.CauseNoDigestSource {
		t.Fatalf("kubernetes: %v", err)
	}
	if d, err := imagecheck.Default().Resolve(ctx, imagecheck.Kubernetes, "nginx@"+aDigest, 0); err != nil || d != aDigest {
		t.Fatalf("digest reference: %q, %v", d, err)
	}
}

func TestCustomEngine(t *testing.T) {
	ctx := context.Background()
	var calls sync.Map
	err := imagecheck.RegisterEngine("go-test", func(ctx context.Context, ref string) (string, error) {
		calls.Store(ref, true)
		switch {
		case strings.Contains(ref, "missing"):
			return "", fmt.Errorf("wrapped: %w", &imagecheck.Error{Kind: imagecheck.KindDigestUnavailable, Cause: imagecheck.CauseNotFound, Message: "no such image"})
		case strings.Contains(ref, "boom"):
			panic("engine exploded")
		case strings.Contains(ref, "garbage"):
			return "not-a-digest", nil
		case strings.Contains(ref, "fails"):
			return "", errors.New("backend down")
		}
		return aDigest, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := imagecheck.Default()
	if d, err := r.Resolve(ctx, "go-test", "example.com/app:1", time.Minute); err != nil || d != aDigest {
		t.Fatalf("custom engine: %q, %v", d, err)
	}
	if _, ok := calls.Load("example.com/app:1"); !ok {
		t.Fatal("the callback did not see the normalised reference")
	}
	check := func(ref string, cause imagecheck.Cause, contains string) {
		t.Helper()
		_, err := r.Resolve(ctx, "go-test", ref, time.Minute)
		var e *imagecheck.Error
		if !errors.As(err, &e) || e.Kind != imagecheck.KindDigestUnavailable || e.Cause != cause || !strings.Contains(e.Message, contains) {
			t.Fatalf("%s: want DigestUnavailable/%s containing %q, got %#v", ref, cause, contains, err)
		}
	}
	check("example.com/missing:1", imagecheck.CauseNotFound, "no such image")
	check("example.com/boom:1", imagecheck.CauseEngine, "panicked: engine exploded")
	check("example.com/garbage:1", imagecheck.CauseInvalidResponse, "invalid digest")
	check("example.com/fails:1", imagecheck.CauseEngine, "backend down")
	// Replacing the engine frees the old handle; the new function answers.
	if err := imagecheck.RegisterEngine("go-test", func(context.Context, string) (string, error) { return aDigest, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "go-test", "example.com/fails:2", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := imagecheck.RegisterEngine("Bad Name", func(context.Context, string) (string, error) { return "", nil }); !errors.Is(err, imagecheck.ErrInvalidArgument) {
		t.Fatalf("bad engine name: %v", err)
	}
}

// stalledServer accepts connections and never answers; conns receives each accepted one.
func stalledServer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			conns <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String(), conns
}

// waitClosed reports whether the peer closed c (the Rust side dropped the request) within d.
func waitClosed(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset")
		}
	}
}

func TestCancelStalledResolve(t *testing.T) {
	addr, conns := stalledServer(t)
	r, err := imagecheck.NewResolver(imagecheck.WithInsecureRegistries(addr), imagecheck.WithRequestTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ref := addr + "/stalled/app:v1"

	// Deadline: returns promptly with context.DeadlineExceeded.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.Resolve(ctx, imagecheck.Registry, ref, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("returned after %v", elapsed)
	}
	select {
	case c := <-conns:
		if !waitClosed(c, 5*time.Second) {
			t.Fatal("the Rust side kept the stalled request open after the context ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the resolver never connected to the stalled server")
	}

	// Explicit cancel mid-request.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		<-conns // the request is on the wire
		cancel2()
	}()
	_, err = r.Resolve(ctx2, imagecheck.Registry, addr+"/stalled/other:v1", 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}

	// Already cancelled: no call at all.
	if _, err := r.Resolve(ctx2, imagecheck.Registry, ref, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestThousandGoroutinesShareDefault(t *testing.T) {
	h := harness(t)
	refs := []string{h.reference(t, "hello-oci"), h.reference(t, "index-oci"), h.reference(t, "docker-v2s2"), h.reference(t, "dockerlist-v2s2")}
	want := map[string]string{}
	for i, name := range []string{"hello-oci", "index-oci", "docker-v2s2", "dockerlist-v2s2"} {
		want[refs[i]] = h.digest(t, name)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ref := refs[i%len(refs)]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			got, err := imagecheck.Default().Resolve(ctx, imagecheck.Registry, ref, time.Minute)
			if err != nil || got != want[ref] {
				errs <- fmt.Errorf("goroutine %d: %s: %q, %v", i, ref, got, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	r, err := imagecheck.NewResolver(imagecheck.WithoutEnv())
	if err != nil {
		t.Fatal(err)
	}
	if r.CacheLen() != 0 {
		t.Fatal("new resolver has a non-empty cache")
	}
	r.Close()
	r.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("use after Close did not panic")
		}
	}()
	r.Resolve(context.Background(), imagecheck.Registry, "nginx:1", 0)
}

func TestBadOptions(t *testing.T) {
	if _, err := imagecheck.NewVerifier("rules: [{image: x, nope: true}]"); !errors.Is(err, imagecheck.ErrInvalidPolicy) {
		t.Fatalf("want ErrInvalidPolicy, got %v", err)
	}
	if imagecheck.Version() == "" {
		t.Fatal("empty version")
	}
	// The default handles are shared: Close does nothing.
	imagecheck.Default().Close()
	imagecheck.DefaultVerifier().Close()
	if _, err := imagecheck.Default().Resolve(context.Background(), imagecheck.Kubernetes, "nginx@"+aDigest, 0); err != nil {
		t.Fatal(err)
	}
}

// WithSharedCache reaches core's options: an unusable URL is refused (password not shown), and
// a tier that refuses connections costs no call.
func TestSharedCacheOption(t *testing.T) {
	_, err := imagecheck.NewResolver(imagecheck.WithSharedCache("http://:hunter2@cache:6379"))
	if !errors.Is(err, imagecheck.ErrInvalidArgument) || !strings.Contains(err.Error(), "shared cache URL") {
		t.Fatalf("want ErrInvalidArgument about the shared cache URL, got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("message leaks the password: %v", err)
	}
	h := harness(t)
	r, err := imagecheck.NewResolver(
		imagecheck.WithoutEnv(),
		imagecheck.WithInsecureRegistries(h.host("plain")),
		imagecheck.WithSharedCache("redis://127.0.0.1:1/?timeout_ms=20"),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ref := h.reference(t, "hello-oci")
	if d, err := r.Resolve(context.Background(), imagecheck.Registry, ref, time.Minute); err != nil || d != h.digest(t, "hello-oci") {
		t.Fatalf("resolve with the tier down: %q, %v", d, err)
	}
}

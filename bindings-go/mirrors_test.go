package imagecheck_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

// closedHost is a loopback host:port where nothing listens (a port taken and let go).
func closedHost(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func writeFile(t *testing.T, path, text string) string {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMirrorOptionsReachCore(t *testing.T) {
	h := harness(t)
	plain, source := h.host("plain"), closedHost(t)
	want := h.digest(t, "hello-oci")
	mirrored := source + "/test/hello:v1"
	dir := t.TempDir()
	conf := writeFile(t, filepath.Join(dir, "mirrored", "registries.conf"),
		fmt.Sprintf("[[registry]]\nlocation = %q\n[[registry.mirror]]\nlocation = %q\ninsecure = true\n", source, plain))
	hostsDir := filepath.Join(dir, "certs.d")
	writeFile(t, filepath.Join(hostsDir, source, "hosts.toml"),
		fmt.Sprintf("server = \"http://%s\"\n\n[host.\"http://%s\"]\ncapabilities = [\"pull\", \"resolve\"]\n", source, plain))
	blocking := writeFile(t, filepath.Join(dir, "blocking", "registries.conf"),
		fmt.Sprintf("[[registry]]\nlocation = %q\nblocked = true\n", plain))
	ctx := context.Background()
	resolve := func(ref string, opts ...imagecheck.ResolverOption) (string, error) {
		r, err := imagecheck.NewResolver(append([]imagecheck.ResolverOption{imagecheck.WithoutEnv(),
			imagecheck.WithInsecureRegistries(plain, source)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return r.Resolve(ctx, imagecheck.Registry, ref, time.Minute)
	}

	got, err := resolve(mirrored, imagecheck.WithRegistriesConf(conf), imagecheck.WithMaxRetries(0),
		imagecheck.WithMaxConcurrentRequestsPerHost(4))
	if err != nil || got != want {
		t.Fatalf("through registries.conf: %q, %v; want %s", got, err, want)
	}
	if got, err := resolve(mirrored, imagecheck.WithHostsDir(hostsDir)); err != nil || got != want {
		t.Fatalf("through hosts.toml: %q, %v; want %s", got, err, want)
	}
	if _, err := resolve(mirrored); !errors.Is(err, imagecheck.ErrDigestUnavailable) {
		t.Fatalf("without a mirror the source is down: want ErrDigestUnavailable, got %v", err)
	}
	_, err = resolve(h.reference(t, "hello-oci"), imagecheck.WithRegistriesConf(blocking))
	if !errors.Is(err, imagecheck.ErrInvalidArgument) || !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("a blocked registry: want ErrInvalidArgument naming it, got %v", err)
	}
}

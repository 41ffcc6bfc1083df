package imagecheck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// testPolicy: hello needs a signature by a fresh key (it has none), index is skipped, docker is
// denied, anything else matches nothing.
func testPolicy(t *testing.T, h *harnessState) string {
	t.Helper()
	plain := h.host("plain")
	rules := []map[string]any{
		{"image": plain + "/test/hello", "publicKey": map[string]string{"certificate": publicKeyPEM(t)}},
		{"image": plain + "/test/index", "skip": true},
		{"image": plain + "/test/docker", "deny": true},
	}
	text, err := json.Marshal(map[string]any{"rules": rules})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

func TestVerifyPolicyOutcomes(t *testing.T) {
	h := harness(t)
	v, err := imagecheck.NewVerifier(testPolicy(t, h))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	defer v.Close() // idempotent
	ctx := context.Background()

	_, err = v.Verify(ctx, h.reference(t, "hello-oci"), nil)
	if !errors.Is(err, imagecheck.ErrVerificationFailed) {
		t.Fatalf("unsigned image under a publicKey rule: want ErrVerificationFailed, got %v", err)
	}

	got, err := v.Verify(ctx, h.reference(t, "index-oci"), nil)
	if err != nil || got.Verified || !strings.Contains(got.Message, "skip") {
		t.Fatalf("skip rule: %+v, %v", got, err)
	}

	_, err = v.Verify(ctx, h.reference(t, "docker-v2s2"), nil)
	if !errors.Is(err, imagecheck.ErrDenied) || errors.Is(err, imagecheck.ErrVerificationFailed) {
		t.Fatalf("deny rule: want ErrDenied, got %v", err)
	}

	got, err = v.Verify(ctx, h.reference(t, "dockerlist-v2s2"), nil)
	if err != nil || got.Verified || !strings.Contains(got.Message, "no rule matched") {
		t.Fatalf("no match: %+v, %v", got, err)
	}

	digested := h.host("plain") + "/test/dockerlist@" + h.digest(t, "dockerlist-v2s2")
	got, err = v.Verify(ctx, digested, nil)
	if err != nil || got.DigestedRef != digested {
		t.Fatalf("digest form: %+v, %v", got, err)
	}

	if _, err := v.Verify(ctx, "Not A Reference", nil); !errors.Is(err, imagecheck.ErrInvalidReference) {
		t.Fatalf("invalid reference: %v", err)
	}
}

func TestVerifierPolicyReplace(t *testing.T) {
	h := harness(t)
	v, err := imagecheck.NewVerifier("[]", imagecheck.WithResolver(imagecheck.Default()), imagecheck.WithResolveTTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	ref := h.reference(t, "docker-v2s2")
	if got, err := v.Verify(ctx, ref, nil); err != nil || got.Verified {
		t.Fatalf("empty policy: %+v, %v", got, err)
	}
	if err := v.SetPolicy(testPolicy(t, h)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, ref, nil); !errors.Is(err, imagecheck.ErrDenied) {
		t.Fatalf("after SetPolicy: %v", err)
	}
	if err := v.SetPolicy("rules: [{image: '*', frobnicate: true}]"); !errors.Is(err, imagecheck.ErrInvalidPolicy) {
		t.Fatalf("bad policy: %v", err)
	}
	// The old rules stay after a failed replace.
	if _, err := v.Verify(ctx, ref, nil); !errors.Is(err, imagecheck.ErrDenied) {
		t.Fatalf("after a failed SetPolicy: %v", err)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("rules:\n  - image: '*'\n    skip: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadPolicy(path); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify(ctx, ref, nil); err != nil || got.Verified || !strings.Contains(got.Message, "skip") {
		t.Fatalf("after LoadPolicy: %+v, %v", got, err)
	}
	if err := v.LoadPolicy(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, imagecheck.ErrInvalidPolicy) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestVerifyCancelStalled(t *testing.T) {
	addr, conns := stalledServer(t)
	r, err := imagecheck.NewResolver(imagecheck.WithInsecureRegistries(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	policy := `{"rules": [{"image": "*", "publicKey": {"certificate": ` + jsonString(publicKeyPEM(t)) + `}}]}`
	v, err := imagecheck.NewVerifier(policy, imagecheck.WithResolver(r))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = v.Verify(ctx, addr+"/stalled/app:v1", nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("want a prompt context.DeadlineExceeded, got %v after %v", err, time.Since(start))
	}
	select {
	case c := <-conns:
		if !waitClosed(c, 5*time.Second) {
			t.Fatal("the Rust side kept the stalled request open")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("never connected")
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDefaultVerifier(t *testing.T) {
	h := harness(t)
	// No IMAGECHECK_POLICY in the tests: nothing matches.
	got, err := imagecheck.DefaultVerifier().Verify(context.Background(), h.reference(t, "hello-oci"), nil)
	if err != nil || got.Verified || !strings.Contains(got.Message, "no rule matched") {
		t.Fatalf("%+v, %v", got, err)
	}
}

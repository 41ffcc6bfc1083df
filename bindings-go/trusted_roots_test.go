package imagecheck_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

// A keyless rule naming a trusted root: the policy of the trusted-root option tests.
const namingPolicy = `rules:
  - image: "registry.example/*"
    keyless: {issuer: "https://issuer.example", subject: "ci@example.com", trustedRoot: private}
`

func publicGoodRoot(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs("../core/trust/public-good-trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNamedTrustedRootReachesCore(t *testing.T) {
	v, err := imagecheck.NewVerifier(namingPolicy,
		imagecheck.WithNamedTrustedRoot("private", publicGoodRoot(t)))
	if err != nil {
		t.Fatalf("a rule naming a root the verifier holds: %v", err)
	}
	v.Close()
	_, err = imagecheck.NewVerifier(namingPolicy,
		imagecheck.WithNamedTrustedRoot("other", publicGoodRoot(t)))
	if !errors.Is(err, imagecheck.ErrInvalidPolicy) ||
		!strings.Contains(err.Error(), `unknown trusted root "private"`) ||
		!strings.Contains(err.Error(), `"other"`) {
		t.Fatalf("want ErrInvalidPolicy naming the known roots, got %v", err)
	}
}

func TestTUFOptionsReachCore(t *testing.T) {
	_, err := imagecheck.NewVerifier(namingPolicy,
		imagecheck.WithNamedTrustedRoot("private", publicGoodRoot(t)),
		imagecheck.WithTUF("https://tuf.example.invalid", ""),
		imagecheck.WithTUFCacheDir(t.TempDir()))
	if !errors.Is(err, imagecheck.ErrInvalidArgument) || !strings.Contains(err.Error(), "needs its root.json") {
		t.Fatalf("want ErrInvalidArgument asking for the repository's root, got %v", err)
	}
	// Sigstore's public-good repository needs no root file; building reads the cache only.
	v, err := imagecheck.NewVerifier(namingPolicy,
		imagecheck.WithNamedTrustedRoot("private", publicGoodRoot(t)),
		imagecheck.WithTUF("https://tuf-repo-cdn.sigstore.dev", ""),
		imagecheck.WithTUFCacheDir(t.TempDir()),
		imagecheck.WithTUFRefreshInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
}

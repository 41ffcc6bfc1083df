// A stranger's program: requires the packaged imagecheck Go module (tests/dist/run copies this
// file into a fresh module outside the repository) and checks, against the harness registries,
// resolve, errors.Is on the error kinds, and verify with a key policy. IC_* come from the
// environment (tests/dist/run).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fail("%s is not set (tests/dist/run sets the IC_* variables)", name)
	}
	return value
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stranger: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resolver, err := imagecheck.NewResolver(
		imagecheck.WithInsecureRegistries(strings.Split(env("IC_INSECURE"), ",")...),
		imagecheck.WithoutEnv())
	if err != nil {
		fail("NewResolver: %v", err)
	}
	defer resolver.Close()

	digest, err := resolver.Resolve(ctx, imagecheck.Registry, env("IC_HELLO_REF"), 0)
	if err != nil || digest != env("IC_HELLO_DIGEST") {
		fail("Resolve(%s) = %q, %v; want %s", env("IC_HELLO_REF"), digest, err, env("IC_HELLO_DIGEST"))
	}
	_, err = resolver.Resolve(ctx, imagecheck.Registry, env("IC_MISSING_REF"), 0)
	if !errors.Is(err, imagecheck.ErrDigestUnavailable) {
		fail("Resolve(missing tag) error = %v; want ErrDigestUnavailable", err)
	}
	_, err = resolver.Resolve(ctx, imagecheck.Registry, "Bad/Reference", 0)
	if !errors.Is(err, imagecheck.ErrInvalidReference) {
		fail("Resolve(Bad/Reference) error = %v; want ErrInvalidReference", err)
	}

	policy, err := os.ReadFile(env("IC_POLICY"))
	if err != nil {
		fail("%v", err)
	}
	verifier, err := imagecheck.NewVerifier(string(policy), imagecheck.WithResolver(resolver))
	if err != nil {
		fail("NewVerifier: %v", err)
	}
	defer verifier.Close()
	v, err := verifier.Verify(ctx, env("IC_SIGNED_REF"), nil)
	if err != nil || !v.Verified || !strings.HasSuffix(v.DigestedRef, "@"+env("IC_SIGNED_DIGEST")) {
		fail("Verify(%s) = %+v, %v; want verified at %s", env("IC_SIGNED_REF"), v, err, env("IC_SIGNED_DIGEST"))
	}
	_, err = verifier.Verify(ctx, env("IC_WRONGKEY_REF"), nil)
	if !errors.Is(err, imagecheck.ErrVerificationFailed) {
		fail("Verify(signed with another key) error = %v; want ErrVerificationFailed", err)
	}
	fmt.Println("stranger: resolve, errors.Is and verify passed")
}

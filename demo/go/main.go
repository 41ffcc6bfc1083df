// The demo's Go part: resolve and verify through the cgo package (no cosign, no crane).
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

func main() {
	registry := os.Getenv("DEMO_REGISTRY")
	policy, err := os.ReadFile(os.Getenv("DEMO_POLICY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resolver, err := imagecheck.NewResolver(imagecheck.WithInsecureRegistries(registry))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resolver.Close()
	app := registry + "/demo/app:1.0"
	digest, err := resolver.Resolve(ctx, imagecheck.Registry, app, 0)
	if err != nil {
		fmt.Printf("go      resolve        %s: %v (fall back to the tag)\n", app, err)
	} else {
		fmt.Printf("go      resolve        %s -> %s\n", app, digest)
	}

	verifier, err := imagecheck.NewVerifier(string(policy), imagecheck.WithResolver(resolver))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer verifier.Close()
	for _, ref := range strings.Fields(os.Getenv("DEMO_REFERENCES")) {
		v, err := verifier.Verify(ctx, ref, nil)
		switch {
		case errors.Is(err, imagecheck.ErrDenied):
			fmt.Printf("go      denied         %s: %v\n", ref, err)
		case errors.Is(err, imagecheck.ErrVerificationFailed):
			fmt.Printf("go      failed         %s: %v\n", ref, err)
		case err != nil:
			fmt.Printf("go      error          %s: %v\n", ref, err)
		case v.Verified:
			fmt.Printf("go      verified       %s: %s\n", ref, v.Message)
		default:
			fmt.Printf("go      not verified   %s: %s\n", ref, v.Message)
		}
	}
}

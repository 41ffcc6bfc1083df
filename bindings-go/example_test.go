package imagecheck_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

func ExampleResolver_Resolve() {
	// A digest reference resolves to its own digest with no I/O; a tag is looked up (and cached
	// for the TTL the call passes).
	digest, err := imagecheck.Default().Resolve(context.Background(), imagecheck.Registry,
		"nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000", 30*time.Second)
	fmt.Println(digest, err)
	// Output: sha256:0000000000000000000000000000000000000000000000000000000000000000 <nil>
}

func ExampleErrDigestUnavailable() {
	// Callers fall back to the tag when no digest is available.
	ref := "nginx:1.27"
	_, err := imagecheck.Default().Resolve(context.Background(), imagecheck.Kubernetes, ref, 0)
	var e *imagecheck.Error
	if errors.Is(err, imagecheck.ErrDigestUnavailable) && errors.As(err, &e) {
		fmt.Printf("falling back to %s (%s)\n", ref, e.Cause)
	}
	// Output: falling back to nginx:1.27 (no digest source)
}

func ExampleParseReference() {
	ref, err := imagecheck.ParseReference("nginx:1.27")
	if err != nil {
		panic(err)
	}
	fmt.Println(ref.Canonical, ref.Registry, ref.Repository, ref.Tag)
	// Output: docker.io/library/nginx:1.27 docker.io library/nginx 1.27
}

func ExampleNewVerifier() {
	v, err := imagecheck.NewVerifier(`rules:
  - image: "docker.io/library/*"
    deny: true
`)
	if err != nil {
		panic(err)
	}
	defer v.Close()
	// Matching happens before any I/O: a deny rule answers without contacting a registry.
	_, err = v.Verify(context.Background(), "nginx:1.27", nil)
	fmt.Println(errors.Is(err, imagecheck.ErrDenied))
	// Output: true
}

func ExampleRegisterEngine() {
	err := imagecheck.RegisterEngine("example-static", func(ctx context.Context, ref string) (string, error) {
		return "sha256:1111111111111111111111111111111111111111111111111111111111111111", nil
	})
	if err != nil {
		panic(err)
	}
	digest, err := imagecheck.Default().Resolve(context.Background(), "example-static", "example.com/app:v1", time.Minute)
	fmt.Println(digest, err)
	// Output: sha256:1111111111111111111111111111111111111111111111111111111111111111 <nil>
}

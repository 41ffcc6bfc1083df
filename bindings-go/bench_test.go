package imagecheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

// Warm: the answer is cached; the call is one cgo call into the cache, no I/O.
func BenchmarkResolveWarm(b *testing.B) {
	h := harness(b)
	ref := h.reference(b, "hello-oci")
	ctx := context.Background()
	r := imagecheck.Default()
	if _, err := r.Resolve(ctx, imagecheck.Registry, ref, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Resolve(ctx, imagecheck.Registry, ref, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// Cold: ttl 0 always sends one HEAD to the harness registry (connection reused).
func BenchmarkResolveCold(b *testing.B) {
	h := harness(b)
	ref := h.reference(b, "hello-oci")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := imagecheck.Default().Resolve(ctx, imagecheck.Registry, ref, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// The pure-Go baseline doing the same cold work: go-containerregistry remote.Head, as a caller
// would write it (each call pings /v2/ and then sends the HEAD).
func BenchmarkGGCRHeadCold(b *testing.B) {
	h := harness(b)
	ref, err := name.ParseReference(h.reference(b, "hello-oci"), name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	want := h.digest(b, "hello-oci")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		desc, err := remote.Head(ref, remote.WithContext(ctx))
		if err != nil {
			b.Fatal(err)
		}
		if desc.Digest.String() != want {
			b.Fatalf("%s != %s", desc.Digest, want)
		}
	}
}

// The same baseline with a reused remote.Puller, so the /v2/ ping and the transport are done
// once (the fairest pure-Go counterpart of the resolver's reused connection).
func BenchmarkGGCRHeadColdReusedPuller(b *testing.B) {
	h := harness(b)
	ref, err := name.ParseReference(h.reference(b, "hello-oci"), name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	puller, err := remote.NewPuller()
	if err != nil {
		b.Fatal(err)
	}
	want := h.digest(b, "hello-oci")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		desc, err := remote.Head(ref, remote.WithContext(ctx), remote.Reuse(puller))
		if err != nil {
			b.Fatal(err)
		}
		if desc.Digest.String() != want {
			b.Fatalf("%s != %s", desc.Digest, want)
		}
	}
}

// Warm verify: a skip rule, answered before any I/O (a tag under a skip rule is not resolved);
// it measures the call through the library's runtime. (A cached signature check needs a signed
// image: tests/harness/sign.py, to come.)
func BenchmarkVerifyWarm(b *testing.B) {
	h := harness(b)
	v, err := imagecheck.NewVerifier(`rules: [{image: "`+h.host("plain")+`/test/index", skip: true}]`, imagecheck.WithResolveTTL(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ref := h.reference(b, "index-oci")
	ctx := context.Background()
	if _, err := v.Verify(ctx, ref, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, ref, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Package imagecheck resolves container image tags to content digests and verifies cosign
// signatures against machine-wide rules, in-process, through cgo over the imagecheck Rust
// library (bindings-c, linked statically).
//
// Resolve a tag with the process-wide resolver, whose cache every caller shares:
//
//	digest, err := imagecheck.Default().Resolve(ctx, imagecheck.Registry, "nginx:1.27", 30*time.Second)
//	if errors.Is(err, imagecheck.ErrDigestUnavailable) {
//		// fall back to the tag: a cache miss is always safe
//	}
//
// A warm Resolve (a cached answer within the TTL, no credentials) makes no request and does not
// touch the library's runtime. Verify an image against a policy:
//
//	v, err := imagecheck.NewVerifier(policyYAML)
//	res, err := v.Verify(ctx, "ghcr.io/org/app:v1", nil)
//
// The policy is a Talos ImageVerificationConfig document as-is, or the same rules as plain
// YAML/JSON. Every field, its meaning and whether Talos has it: "Policy reference" in the
// repository's README.md (the same for every binding). An unknown field is an
// [ErrInvalidPolicy] error naming the field probably meant.
//
// Errors are [*Error] values with a stable [Kind]; compare with errors.Is and the sentinels
// ([ErrDigestUnavailable], [ErrInvalidReference], [ErrVerificationFailed], [ErrDenied],
// [ErrInvalidPolicy], [ErrInvalidArgument]). When a context ends, calls return ctx.Err()
// promptly and the Rust side abandons the work.
//
// Handles ([Resolver], [Verifier]) have an idempotent Close and a cleanup that frees them once
// unreachable. Building: the packaged module carries the library (lib/linux_amd64/); in the
// repository run go generate first (README.md).
package imagecheck

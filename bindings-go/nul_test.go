package imagecheck_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

func TestStringsWithNULAreRefusedNotCutShort(t *testing.T) {
	ctx := context.Background()
	pinned := "example.com/app@" + aDigest // resolves and verifies with no I/O
	creds := &imagecheck.Credentials{Host: "example.com", Username: "alice", Password: "pw"}
	isKind := func(t *testing.T, what string, err error, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}

	_, err := imagecheck.ParseReference("example.com/app:v1\x00evil")
	isKind(t, "ParseReference", err, imagecheck.ErrInvalidReference)
	_, err = imagecheck.Default().ResolveWith(ctx, imagecheck.Registry, pinned+"\x00evil", 0, creds)
	isKind(t, "ResolveWith reference", err, imagecheck.ErrInvalidReference)
	_, err = imagecheck.Default().ResolveWith(ctx, imagecheck.Engine("registry\x00x"), pinned, 0, creds)
	isKind(t, "ResolveWith engine", err, imagecheck.ErrInvalidArgument)
	bad := *creds
	bad.Password = "pw\x00tail"
	_, err = imagecheck.Default().ResolveWith(ctx, imagecheck.Registry, pinned, 0, &bad)
	isKind(t, "ResolveWith password", err, imagecheck.ErrInvalidArgument)
	if err != nil && strings.Contains(err.Error(), "tail") {
		t.Errorf("the error quotes the password: %v", err)
	}

	v, err := imagecheck.NewVerifier("rules: []")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Verify(ctx, pinned+"\x00evil", nil)
	isKind(t, "Verify reference", err, imagecheck.ErrInvalidReference)
	_, err = v.Verify(ctx, pinned, &bad)
	isKind(t, "Verify password", err, imagecheck.ErrInvalidArgument)
	isKind(t, "SetPolicy", v.SetPolicy("rules: []\x00garbage"), imagecheck.ErrInvalidArgument)
	isKind(t, "LoadPolicy", v.LoadPolicy(t.TempDir()+"\x00/policy.yaml"), imagecheck.ErrInvalidArgument)
	_, err = imagecheck.NewVerifier("rules: []\x00garbage")
	isKind(t, "NewVerifier", err, imagecheck.ErrInvalidArgument)

	r, err := imagecheck.NewResolver(imagecheck.WithoutEnv())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	answer := func(context.Context, string) (string, error) { return aDigest + "\x00tail", nil }
	isKind(t, "RegisterEngine", r.RegisterEngine("nul\x00name", answer), imagecheck.ErrInvalidArgument)
	if err := r.RegisterEngine("nul-digest", answer); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, imagecheck.Engine("nul-digest"), "example.com/app:v1", 0)
	var e *imagecheck.Error
	if !errors.As(err, &e) || e.Kind != imagecheck.KindDigestUnavailable || e.Cause != imagecheck.CauseInvalidResponse {
		t.Errorf("an engine's digest with a NUL: %v, want DigestUnavailable (invalid response)", err)
	}
}

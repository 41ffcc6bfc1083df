package imagecheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

// The language-neutral cases every binding runs: tests/conformance/README.md.
type conformanceCases struct {
	References []struct {
		Input      string  `json:"input"`
		Canonical  string  `json:"canonical"`
		Registry   string  `json:"registry"`
		Repository string  `json:"repository"`
		Tag        *string `json:"tag"`
		Digest     *string `json:"digest"`
		Error      string  `json:"error"`
	} `json:"references"`
	Resolve []struct {
		Name        string  `json:"name"`
		Reference   string  `json:"reference"`
		Engine      string  `json:"engine"`
		Credentials *string `json:"credentials"`
		Expect      struct {
			Digest string `json:"digest"`
			Error  string `json:"error"`
			Cause  string `json:"cause"`
		} `json:"expect"`
	} `json:"resolve"`
	Verify []struct {
		Name        string  `json:"name"`
		Policy      string  `json:"policy"`
		Reference   string  `json:"reference"`
		Credentials *string `json:"credentials"`
		TrustedRoot *string `json:"trusted_root"`
		Expect      struct {
			Verified        *bool  `json:"verified"`
			DigestedRef     string `json:"digested_ref"`
			MessageContains string `json:"message_contains"`
			Error           string `json:"error"`
			Failures        *[]struct {
				Source string `json:"source"`
				Check  string `json:"check"`
			} `json:"failures"`
		} `json:"expect"`
	} `json:"verify"`
}

func loadCases(t *testing.T) *conformanceCases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "tests", "conformance", "cases.json"))
	if err != nil {
		t.Fatalf("conformance cases: %v", err)
	}
	var cases conformanceCases
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("conformance cases: %v", err)
	}
	return &cases
}

// signedState is signed.json, written into the harness directory by tests/harness/sign.py.
type signedState struct {
	Images map[string]struct {
		Reference string `json:"reference"`
		Digest    string `json:"digest"`
	} `json:"images"`
	Policies   map[string]string `json:"policies"`
	TrustRoots map[string]string `json:"trust_roots"`
}

var placeholder = regexp.MustCompile(`\{([a-z-]+)(?::([^}]+))?\}`)

// substitute replaces the README's placeholders; signed may be nil when no case needs it.
func substitute(t *testing.T, h *harnessState, signed *signedState, text string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		parts := placeholder.FindStringSubmatch(m)
		kind, arg := parts[1], parts[2]
		needSigned := func() *signedState {
			if signed == nil {
				t.Fatalf("placeholder %s needs signed.json in IMAGECHECK_HARNESS (run tests/harness/sign.py)", m)
			}
			return signed
		}
		switch kind {
		case "plain", "basic", "token":
			if arg == "" {
				return h.host(kind)
			}
		case "digest":
			return h.digest(t, arg)
		case "signed":
			return needSigned().Images[arg].Reference
		case "signed-digest":
			return needSigned().Images[arg].Digest
		case "trust-root":
			return needSigned().TrustRoots[arg]
		case "policy":
			p := needSigned().Policies[arg]
			if !filepath.IsAbs(p) {
				p = filepath.Join(os.Getenv("IMAGECHECK_HARNESS"), p)
			}
			return p
		}
		return m
	})
}

func caseCredentials(t *testing.T, h *harnessState, name *string, reference string) *imagecheck.Credentials {
	t.Helper()
	if name == nil || *name == "" {
		return nil
	}
	registry, wrong := strings.CutSuffix(*name, "-wrong")
	r, ok := h.Registries[registry]
	if !ok {
		t.Fatalf("unknown credentials %q", *name)
	}
	password := r.Password
	if wrong {
		password = "wrong-password"
	}
	host := r.Host
	if ref, err := imagecheck.ParseReference(reference); err == nil {
		host = ref.Registry
	}
	return &imagecheck.Credentials{Host: host, Username: r.Username, Password: password}
}

func kindOf(err error) string {
	var e *imagecheck.Error
	if errors.As(err, &e) {
		return e.Kind.String()
	}
	return ""
}

func TestConformanceReferences(t *testing.T) {
	cases := loadCases(t)
	if len(cases.References) == 0 {
		t.Fatal("no reference cases")
	}
	for _, c := range cases.References {
		got, err := imagecheck.ParseReference(c.Input)
		if c.Error != "" {
			if kindOf(err) != c.Error {
				t.Errorf("%q: want error %s, got %v (%+v)", c.Input, c.Error, err, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.Input, err)
			continue
		}
		deref := func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		}
		want := imagecheck.Reference{Canonical: c.Canonical, Registry: c.Registry, Repository: c.Repository, Tag: deref(c.Tag), Digest: deref(c.Digest)}
		if got != want {
			t.Errorf("%q: got %+v, want %+v", c.Input, got, want)
		}
	}
}

func TestConformanceResolve(t *testing.T) {
	h := harness(t)
	cases := loadCases(t)
	if len(cases.Resolve) == 0 {
		t.Fatal("no resolve cases")
	}
	for _, c := range cases.Resolve {
		t.Run(c.Name, func(t *testing.T) {
			ref := substitute(t, h, nil, c.Reference)
			engine := imagecheck.Registry
			if c.Engine != "" {
				engine = imagecheck.Engine(c.Engine)
			}
			creds := caseCredentials(t, h, c.Credentials, ref)
			digest, err := imagecheck.Default().ResolveWith(context.Background(), engine, ref, 0, creds)
			if c.Expect.Error != "" {
				var e *imagecheck.Error
				if !errors.As(err, &e) || e.Kind.String() != c.Expect.Error {
					t.Fatalf("want error %s, got digest %q, err %v", c.Expect.Error, digest, err)
				}
				if c.Expect.Cause != "" && e.Cause.String() != c.Expect.Cause {
					t.Fatalf("want cause %q, got %q (%v)", c.Expect.Cause, e.Cause, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := substitute(t, h, nil, c.Expect.Digest); digest != want {
				t.Fatalf("digest %s, want %s", digest, want)
			}
		})
	}
}

func TestConformanceVerify(t *testing.T) {
	h := harness(t)
	cases := loadCases(t)
	if len(cases.Verify) == 0 {
		t.Log("tests/conformance/cases.json has no verify cases yet")
		return
	}
	data, err := os.ReadFile(filepath.Join(os.Getenv("IMAGECHECK_HARNESS"), "signed.json"))
	if err != nil {
		t.Fatalf("verify cases need signed.json in IMAGECHECK_HARNESS (run tests/harness/sign.py): %v", err)
	}
	var signed signedState
	if err := json.Unmarshal(data, &signed); err != nil {
		t.Fatalf("signed.json: %v", err)
	}
	for _, c := range cases.Verify {
		t.Run(c.Name, func(t *testing.T) {
			var opts []imagecheck.VerifierOption
			if c.TrustedRoot != nil {
				opts = append(opts, imagecheck.WithTrustedRoot(substitute(t, h, &signed, *c.TrustedRoot)))
			}
			v, err := imagecheck.NewVerifier("[]", opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			policy := substitute(t, h, &signed, c.Policy)
			if _, statErr := os.Stat(policy); statErr == nil {
				err = v.LoadPolicy(policy)
			} else {
				err = v.SetPolicy(policy)
			}
			if err != nil {
				t.Fatal(err)
			}
			ref := substitute(t, h, &signed, c.Reference)
			got, err := v.Verify(context.Background(), ref, caseCredentials(t, h, c.Credentials, ref))
			if c.Expect.Error != "" {
				if kindOf(err) != c.Expect.Error {
					t.Fatalf("want error %s, got %+v, %v", c.Expect.Error, got, err)
				}
				if c.Expect.Failures != nil {
					var e *imagecheck.Error
					errors.As(err, &e)
					var gotPairs, wantPairs []string
					for _, f := range e.Failures {
						gotPairs = append(gotPairs, f.Source+"/"+f.Check)
					}
					for _, f := range *c.Expect.Failures {
						wantPairs = append(wantPairs, f.Source+"/"+f.Check)
					}
					if strings.Join(gotPairs, " ") != strings.Join(wantPairs, " ") {
						t.Fatalf("want failures %v, got %v (%v)", wantPairs, gotPairs, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Expect.Verified != nil && got.Verified != *c.Expect.Verified {
				t.Errorf("verified = %v, want %v (%s)", got.Verified, *c.Expect.Verified, got.Message)
			}
			if c.Expect.DigestedRef != "" {
				if want := substitute(t, h, &signed, c.Expect.DigestedRef); got.DigestedRef != want {
					t.Errorf("digested_ref = %q, want %q", got.DigestedRef, want)
				}
			}
			if c.Expect.MessageContains != "" && !strings.Contains(got.Message, substitute(t, h, &signed, c.Expect.MessageContains)) {
				t.Errorf("message %q does not contain %q", got.Message, c.Expect.MessageContains)
			}
		})
	}
}

package imagecheck_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// harnessState is the part of the harness's state.json the tests read (tests/harness/README.md).
type harnessState struct {
	Registries map[string]struct {
		Host     string `json:"host"`
		Username string `json:"username"`
		Password string `json:"password"`
		Log      string `json:"log"`
	} `json:"registries"`
	Images []struct {
		Name      string `json:"name"`
		Registry  string `json:"registry"`
		Reference string `json:"reference"`
		Digest    string `json:"digest"`
	} `json:"images"`
}

const harnessHelp = `IMAGECHECK_HARNESS is not set: these tests need the real registries.
Start them and point the tests at the state directory:

    python3 tests/harness/harness.py start --state-dir /tmp/ic-harness
    IMAGECHECK_HARNESS=/tmp/ic-harness go test ./...

(or run bindings-go/test.sh from tests/run, which does this for you)`

var (
	harnessLoaded *harnessState
	harnessErr    error
)

func loadHarness() (*harnessState, error) {
	dir := os.Getenv("IMAGECHECK_HARNESS")
	if dir == "" {
		return nil, fmt.Errorf("%s", harnessHelp)
	}
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("IMAGECHECK_HARNESS=%s: cannot read state.json (is the harness started?): %w", dir, err)
	}
	var state harnessState
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("IMAGECHECK_HARNESS=%s: state.json: %w", dir, err)
	}
	return &state, nil
}

func TestMain(m *testing.M) {
	// The default verifier must start with no rules, whatever the caller's environment says.
	os.Unsetenv("IMAGECHECK_POLICY")
	harnessLoaded, harnessErr = loadHarness()
	if harnessErr == nil {
		// Before anything builds the default resolver: every harness registry is plain HTTP.
		var hosts []string
		for _, r := range harnessLoaded.Registries {
			hosts = append(hosts, r.Host)
		}
		os.Setenv("IMAGECHECK_INSECURE_REGISTRIES", strings.Join(hosts, ","))
	}
	os.Exit(m.Run())
}

// harness returns the harness state, failing the test loudly (never skipping) without it.
func harness(tb testing.TB) *harnessState {
	tb.Helper()
	if harnessErr != nil {
		tb.Fatal(harnessErr)
	}
	return harnessLoaded
}

func (h *harnessState) host(name string) string { return h.Registries[name].Host }

func (h *harnessState) digest(tb testing.TB, image string) string {
	tb.Helper()
	for _, i := range h.Images {
		if i.Name == image {
			return i.Digest
		}
	}
	tb.Fatalf("harness has no image %q", image)
	return ""
}

func (h *harnessState) reference(tb testing.TB, image string) string {
	tb.Helper()
	for _, i := range h.Images {
		if i.Name == image {
			return i.Reference
		}
	}
	tb.Fatalf("harness has no image %q", image)
	return ""
}

package imagecheck_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	imagecheck "imagecheck.dev/imagecheck/bindings-go"
)

func TestPrintingCredentialsNeverShowsThePassword(t *testing.T) {
	const secret = "s3cret-pw"
	c := imagecheck.Credentials{Host: "ghcr.io", Username: "alice", Password: secret}
	nested := struct{ Creds imagecheck.Credentials }{c}
	shown := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		shown[verb] = fmt.Sprintf(verb, c)
		shown[verb+" pointer"] = fmt.Sprintf(verb, &c)
		shown[verb+" nested"] = fmt.Sprintf(verb, nested)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("login", "creds", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("login", "creds", &c)
	shown["slog"] = logged.String()
	for form, v := range map[string]any{"json": c, "json pointer": &c, "json nested": nested} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		shown[form] = string(b)
	}
	for form, text := range shown {
		if strings.Contains(text, secret) || strings.Contains(text, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows the password: %s", form, text)
		}
	}
	if !strings.Contains(shown["%v"], "alice") || !strings.Contains(shown["%#v"], `Host:"ghcr.io"`) {
		t.Errorf("host and username should show: %q, %q", shown["%v"], shown["%#v"])
	}
	if !strings.Contains(shown["json nested"], `"username":"alice"`) {
		t.Errorf("json should show the username: %s", shown["json nested"])
	}
}

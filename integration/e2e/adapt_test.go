package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// TestCaddyfileExampleAdapts: the real caddy binary adapts Caddyfile.example
// into exactly the JSON docs/json.md documents for its first federate route.
func TestCaddyfileExampleAdapts(t *testing.T) {
	bin := federateBin(t)
	root := filepath.Dir(harness.Root()) // the repository, above integration/
	out, err := exec.Command(bin, "adapt", "--config", filepath.Join(root, "Caddyfile.example")).Output()
	if err != nil {
		t.Fatalf("caddy adapt Caddyfile.example: %v", err)
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	got := firstFederate(cfg)
	if got == nil {
		t.Fatalf("no federate handler in the adapted config")
	}
	readme, err := os.ReadFile(filepath.Join(root, "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- adapt: first federate handler of Caddyfile.example -->\\s*```json\\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("docs/json.md has no adapted-JSON block for Caddyfile.example")
	}
	var want any
	if err := json.Unmarshal(m[1], &want); err != nil {
		t.Fatalf("docs/json.md JSON block: %v", err)
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if !bytes.Equal(g, w) {
		t.Errorf("caddy adapt gives\n%s\ndocs/json.md documents\n%s", g, w)
	}
}

func firstFederate(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x["handler"] == "federate" {
			return x
		}
		for _, c := range x {
			if f := firstFederate(c); f != nil {
				return f
			}
		}
	case []any:
		for _, c := range x {
			if f := firstFederate(c); f != nil {
				return f
			}
		}
	}
	return nil
}

package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	buildMu   sync.Mutex
	buildDir  string
	built     = map[string]string{}
	buildErrs = map[string]error{}
)

// Main runs the tests and removes the binaries Binary built.
func Main(m *testing.M) int {
	code := m.Run()
	buildMu.Lock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	buildMu.Unlock()
	return code
}

// Binary builds ./cmd/<name> of the integration module once per test binary
// and returns its path.
func Binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if err, ok := buildErrs[name]; ok {
		t.Fatalf("build %s failed earlier: %v", name, err)
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "integration-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = Root()
	if b, err := cmd.CombinedOutput(); err != nil {
		buildErrs[name] = err
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Root is the integration module's directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// CI reports whether missing prerequisites must fail rather than skip: CI=true
// or INTEGRATION_STRICT=1.
func CI() bool {
	return os.Getenv("CI") == "true" || os.Getenv("INTEGRATION_STRICT") == "1"
}

// Require fails (CI) or skips (elsewhere) the test unless ok.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	if CI() {
		t.Fatalf("missing prerequisite: "+format, args...)
	}
	t.Skipf("missing prerequisite: "+format, args...)
}

// Heavy skips t under -short.
func Heavy(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("heavy integration test: skipped with -short")
	}
}

var (
	setupOnce sync.Once
	setupErr  error
	setupLog  string
)

// prerequisitesPresent reports whether setup.sh has nothing left to do for the
// engines, the corpus's long descriptions and the plain caddy binary.
func prerequisitesPresent() bool {
	_, err1 := exec.LookPath("groonga")
	_, err2 := PGBin()
	_, err3 := os.Stat(PlainCaddyPath())
	translations, _ := filepath.Glob("/var/lib/apt/lists/*Translation-en*")
	return err1 == nil && err2 == nil && err3 == nil && len(translations) > 0
}

// EnsureSetup runs scripts/setup.sh once per test binary when a prerequisite
// is missing (apt packages, xcaddy, the caddy binaries), unless
// INTEGRATION_NO_SETUP=1. It takes minutes on a fresh machine: run the suite
// with -timeout 30m, or run setup.sh first.
func EnsureSetup(t testing.TB) {
	t.Helper()
	setupOnce.Do(func() {
		if prerequisitesPresent() || os.Getenv("INTEGRATION_NO_SETUP") == "1" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(Root(), "scripts", "setup.sh"))
		if os.Geteuid() != 0 {
			cmd.Env = Env("SKIP_APT=1")
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		setupLog = string(out)
		if err != nil {
			setupErr = err
		}
		t.Logf("scripts/setup.sh ran in %v (err: %v)", time.Since(start).Round(time.Second), err)
	})
	if setupErr != nil {
		lines := strings.Split(strings.TrimSpace(setupLog), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		Require(t, false, "scripts/setup.sh failed: %v\n%s", setupErr, strings.Join(lines, "\n"))
	}
}

// PGBin is the newest PostgreSQL server bin directory.
func PGBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "", 0
	for _, d := range dirs {
		v := 0
		for _, c := range filepath.Base(filepath.Dir(d)) {
			if c < '0' || c > '9' {
				v = -1
				break
			}
			v = v*10 + int(c-'0')
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	if best == "" {
		return "", os.ErrNotExist
	}
	return best, nil
}

package federate

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPurePackagesImportNoCaddy: dialect and merge are pure (bytes in,
// values out), so that they can be tested, fuzzed and reused without a
// Caddy process. Neither they nor anything they import, tests included,
// may import Caddy, zap or the packages built on Caddy.
func TestPurePackagesImportNoCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{
		"github.com/caddyserver/",
		"go.uber.org/zap",
		"github.com/searchfront/caddy-federate/caddyfederate",
		"github.com/searchfront/caddy-federate/health",
	}
	for _, pkg := range []string{"./dialect", "./merge"} {
		out, err := exec.Command("go", "list", "-deps", "-test", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps -test %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps -test %s listed only %v", pkg, deps)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s: keep Caddy out of the pure packages", pkg, d)
				}
			}
		}
	}
}

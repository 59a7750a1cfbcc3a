package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PlainCaddyPath is caddy without the federate module (CADDY_PLAIN_BIN, or
// bin/caddy-plain built by scripts/setup.sh).
func PlainCaddyPath() string {
	return orDefault(os.Getenv("CADDY_PLAIN_BIN"), filepath.Join(Root(), "bin", "caddy-plain"))
}

// FederateCaddyPath is caddy built with the module as users build it
// (CADDY_BIN, or bin/caddy built by scripts/setup.sh).
func FederateCaddyPath() string {
	return orDefault(os.Getenv("CADDY_BIN"), filepath.Join(Root(), "bin", "caddy"))
}

// PlainCaddy returns the plain caddy binary, running setup.sh if it is missing.
func PlainCaddy(t testing.TB) string {
	t.Helper()
	EnsureSetup(t)
	p := PlainCaddyPath()
	_, err := os.Stat(p)
	Require(t, err == nil, "%s: run integration/scripts/setup.sh", p)
	return p
}

var (
	fedOnce sync.Once
	fedErr  error
)

// FederateCaddy returns the caddy binary with http.handlers.federate, running
// setup.sh once if it is missing or lacks the module.
func FederateCaddy(t testing.TB) string {
	t.Helper()
	EnsureSetup(t)
	p := FederateCaddyPath()
	fedOnce.Do(func() {
		if hasModule(p, "http.handlers.federate") {
			return
		}
		if os.Getenv("INTEGRATION_NO_SETUP") != "1" {
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", filepath.Join(Root(), "scripts", "setup.sh"))
			cmd.Env = Env("SKIP_APT=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("scripts/setup.sh: %v\n%s", err, out)
			}
		}
		if !hasModule(p, "http.handlers.federate") {
			fedErr = fmt.Errorf("%s is missing or lacks http.handlers.federate: scripts/setup.sh builds it "+
				"once the module's root package registers the handler (see bin/xcaddy.log)", p)
		}
	})
	if fedErr != nil {
		Require(t, false, "%v", fedErr)
	}
	return p
}

func hasModule(bin, module string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "list-modules").Output()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == module {
			return true
		}
	}
	return false
}

// CaddyOptions configure StartCaddy.
type CaddyOptions struct {
	// Bin is the caddy binary (PlainCaddy or FederateCaddy).
	Bin string
	// Sites is the Caddyfile after the global options block: site blocks
	// listening on loopback, e.g. "http://127.0.0.1:PORT { ... }".
	Sites string
	// Global holds extra global options (lines inside the global block).
	Global string
}

// Caddy is a running caddy process with its admin API on a loopback port.
type Caddy struct {
	Bin       string
	Dir       string
	AdminAddr string
	AdminURL  string
	Proc      *Proc
	global    string
}

// StartCaddy writes the Caddyfile and runs `caddy run --config ... --adapter
// caddyfile` with its own HOME and XDG directories, then waits for the admin
// API. The global block pins the admin address, turns off automatic HTTPS and
// config persistence, and sets a short grace period.
func StartCaddy(t testing.TB, o CaddyOptions) *Caddy {
	t.Helper()
	if o.Bin == "" {
		o.Bin = PlainCaddy(t)
	}
	c := &Caddy{Bin: o.Bin, Dir: t.TempDir(), global: o.Global}
	c.AdminAddr = Addr(FreePort(t))
	c.AdminURL = "http://" + c.AdminAddr
	cfg := filepath.Join(c.Dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(c.Caddyfile(o.Sites)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.Bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Dir = c.Dir
	cmd.Env = Env("HOME="+c.Dir, "XDG_DATA_HOME="+filepath.Join(c.Dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(c.Dir, "config"))
	c.Proc = Start(t, "caddy", c.Dir, cmd)
	WaitFor(t, c.Proc, "admin API", 30*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.AdminURL+"/config/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET /config/: %s", resp.Status)
		}
		return nil
	})
	return c
}

// Caddyfile is the whole Caddyfile for sites: the harness's global block,
// then sites.
func (c *Caddy) Caddyfile(sites string) string {
	return fmt.Sprintf(`{
	admin %s
	auto_https off
	persist_config off
	skip_install_trust
	grace_period 2s
	storage file_system %s
%s
}

%s
`, c.AdminAddr, filepath.Join(c.Dir, "storage"), c.global, sites)
}

// Load replaces the running config with sites (same global block) through
// POST /load; the new config is active when it returns.
func (c *Caddy) Load(t testing.TB, sites string) {
	t.Helper()
	if err := c.load("text/caddyfile", []byte(c.Caddyfile(sites))); err != nil {
		t.Fatal(err)
	}
}

// LoadErr is Load returning the admin API's error (for invalid configs).
func (c *Caddy) LoadErr(sites string) error {
	return c.load("text/caddyfile", []byte(c.Caddyfile(sites)))
}

// LoadJSON replaces the running config with a JSON config. An absent
// admin.listen is set to this instance's admin address, so the reload cannot
// move the admin API to Caddy's default port.
func (c *Caddy) LoadJSON(t testing.TB, cfg []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		t.Fatalf("LoadJSON: %v", err)
	}
	admin, _ := m["admin"].(map[string]any)
	if admin == nil {
		admin = map[string]any{}
		m["admin"] = admin
	}
	if _, ok := admin["listen"]; !ok {
		admin["listen"] = c.AdminAddr
	}
	b, _ := json.Marshal(m)
	if err := c.load("application/json", b); err != nil {
		t.Fatal(err)
	}
}

func (c *Caddy) load(ctype string, body []byte) error {
	code, b, err := DoErr(http.MethodPost, c.AdminURL+"/load", body, http.Header{"Content-Type": {ctype}})
	if err != nil {
		return fmt.Errorf("POST /load: %v", err)
	}
	if code != 200 {
		return fmt.Errorf("POST /load: %d %s", code, b)
	}
	return nil
}

// Adapt returns the JSON config Caddy makes of sites (POST /adapt).
func (c *Caddy) Adapt(t testing.TB, sites string) []byte {
	t.Helper()
	code, b, err := DoErr(http.MethodPost, c.AdminURL+"/adapt", c.Caddyfile(sites), http.Header{"Content-Type": {"text/caddyfile"}})
	if err != nil || code != 200 {
		t.Fatalf("POST /adapt: %d %v %s", code, err, b)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST /adapt: %v", err)
	}
	return out.Result
}

// Config returns the running JSON config (GET /config/).
func (c *Caddy) Config(t testing.TB) []byte {
	t.Helper()
	code, b := Do(t, http.MethodGet, c.AdminURL+"/config/", nil)
	if code != 200 {
		t.Fatalf("GET /config/: %d %s", code, b)
	}
	return b
}

// Goroutines reads the process's goroutine count from the admin API's pprof
// endpoint (/debug/pprof/goroutine?debug=1).
func (c *Caddy) Goroutines(t testing.TB) int {
	t.Helper()
	code, b := Do(t, http.MethodGet, c.AdminURL+"/debug/pprof/goroutine?debug=1", nil)
	if code != 200 {
		t.Fatalf("goroutine profile: %d %.200s", code, b)
	}
	line, _, _ := bufio.NewReader(bytes.NewReader(b)).ReadLine()
	var n int
	if _, err := fmt.Sscanf(string(line), "goroutine profile: total %d", &n); err != nil {
		t.Fatalf("goroutine profile: first line %q: %v", line, err)
	}
	return n
}

// WaitGoroutines polls until the goroutine count is at most max, or fails
// after timeout: leaks show as a count that never comes back down.
func (c *Caddy) WaitGoroutines(t testing.TB, max int, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := c.Goroutines(t)
		if n <= max {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy has %d goroutines after %v, want at most %d", n, timeout, max)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts caddy down (also done at cleanup).
func (c *Caddy) Stop() error { return c.Proc.Stop() }

// HandlerLanded reports whether a package of the plugin registers
// http.handlers.federate. Until one does, no caddy with the module can be
// built, and FederateCaddy's absence is expected rather than a failure.
func HandlerLanded() bool {
	repo := filepath.Dir(Root())
	files, _ := filepath.Glob(filepath.Join(repo, "*.go"))
	more, _ := filepath.Glob(filepath.Join(repo, "caddyfederate", "*.go"))
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(`"http.handlers.federate"`)) {
			return true
		}
	}
	return false
}

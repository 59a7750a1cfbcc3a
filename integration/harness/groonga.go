package harness

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/groonga"
)

// Groonga is a Groonga HTTP server over a temporary database.
type Groonga struct {
	URL    string
	Client *groonga.Client
	Proc   *Proc
}

// StartGroonga creates a database and serves it on a loopback port.
func StartGroonga(t testing.TB) *Groonga {
	t.Helper()
	EnsureSetup(t)
	bin, err := exec.LookPath("groonga")
	Require(t, err == nil, "groonga (apt-get install groonga-bin, or scripts/setup.sh)")
	dir := t.TempDir()
	db := filepath.Join(dir, "db", "docs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec.Command("mkdir", "-p", filepath.Dir(db)).Run(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, bin, "-n", db, "quit").CombinedOutput(); err != nil {
		t.Fatalf("groonga -n: %v\n%s", err, out)
	}
	port := FreePort(t)
	g := &Groonga{URL: "http://" + Addr(port)}
	cmd := exec.Command(bin, "-s", "--protocol", "http", "--bind-address", "127.0.0.1", "-p", strconv.Itoa(port),
		"--log-path", filepath.Join(dir, "groonga-internal.log"), "--query-log-path", filepath.Join(dir, "query.log"), db)
	g.Proc = Start(t, "groonga", dir, cmd)
	g.Client = groonga.New(g.URL)
	WaitFor(t, g.Proc, "Groonga answering /d/status", 30*time.Second, func(ctx context.Context) error {
		_, err := g.Client.Command(ctx, "status", nil, nil)
		return err
	})
	return g
}

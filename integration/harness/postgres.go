package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Postgres is a private PostgreSQL cluster: its own data directory, socket
// directory and loopback port, trust authentication, user postgres.
type Postgres struct {
	Port      int
	SocketDir string
	Proc      *Proc
}

// DSN is a libpq/pgx connection string over TCP loopback.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", p.Port)
}

// StartPostgres initdb's a cluster in a temporary directory and runs postgres
// in the foreground (as the postgres user when the test runs as root, since
// PostgreSQL refuses root). Stopped and removed at cleanup.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	EnsureSetup(t)
	bin, err := PGBin()
	Require(t, err == nil, "PostgreSQL server (apt-get install postgresql, or scripts/setup.sh)")

	// The postgres user must reach the directory: t.TempDir is 0700 root.
	dir, err := os.MkdirTemp("", "pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cred := credential(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		os.Chown(dir, int(cred.Uid), int(cred.Gid))
	}
	data := filepath.Join(dir, "data")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	pg := &Postgres{Port: FreePort(t), SocketDir: dir}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(pg.Port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=128MB", "-c", "max_connections=200")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	pg.Proc = Start(t, "postgres", dir, cmd)
	// SIGINT is PostgreSQL's fast shutdown; SIGTERM ("smart") waits for clients.
	pg.Proc.StopSignal = syscall.SIGINT
	isready := filepath.Join(bin, "pg_isready")
	WaitFor(t, pg.Proc, "PostgreSQL accepting connections", 60*time.Second, func(ctx context.Context) error {
		return exec.CommandContext(ctx, isready, "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port), "-U", "postgres").Run()
	})
	return pg
}

// credential is the postgres user's when running as root, else nil.
func credential(t testing.TB) *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	Require(t, err == nil, "a postgres system user (created by the postgresql package) to run PostgreSQL as root")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

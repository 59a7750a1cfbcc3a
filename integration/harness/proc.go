package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

// Proc is a child process in its own process group.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	// Log is the file holding the process's stdout and stderr.
	Log string
	// StopSignal asks the process to stop (default SIGTERM).
	StopSignal syscall.Signal

	once sync.Once
	done chan struct{}
	err  error
}

// Start runs cmd as a process group leader logging to a file in dir, and
// registers its cleanup with t: SIGTERM to the group, SIGKILL after 10 s.
func Start(t testing.TB, name, dir string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Name: name, Cmd: cmd, Log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	lf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("start %s (%s): %v", name, cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("--- %s log (%s), last lines:\n%s", name, p.Log, Tail(p.Log, 40))
		}
	})
	return p
}

// Stop ends the process group: StopSignal, then SIGKILL after 10 s. Safe to
// call more than once.
func (p *Proc) Stop() error {
	p.once.Do(func() {
		pgid := p.Cmd.Process.Pid
		sig := p.StopSignal
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		syscall.Kill(-pgid, sig)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		syscall.Kill(-pgid, syscall.SIGKILL) // stragglers in the group
	})
	return p.err
}

// Kill ends the process group at once with SIGKILL (a crash, for fault tests).
func (p *Proc) Kill() {
	p.once.Do(func() {
		syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Tail returns the last n lines of a file.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is 127.0.0.1:port.
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// WaitFor polls ready every 50 ms until it returns nil, p exits, or timeout.
func WaitFor(t testing.TB, p *Proc, what string, timeout time.Duration, ready func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			t.Fatalf("%s exited before %s: %v\n%s", p.Name, what, p.err, Tail(p.Log, 30))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p != nil {
		t.Fatalf("%s: no %s within %v: %v\n%s", p.Name, what, timeout, last, Tail(p.Log, 30))
	}
	t.Fatalf("no %s within %v: %v", what, timeout, last)
}

// HTTPReady is a readiness check: GET url answers with a status below 500.
func HTTPReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// Env returns os.Environ with overrides (KEY=VALUE) replacing existing keys.
func Env(overrides ...string) []string { return benchproc.Env(overrides...) }

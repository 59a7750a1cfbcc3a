// Package benchproc holds what the benchmark commands (cmd/tailbench,
// cmd/loadbench) share: child processes in their own process groups that die
// with the benchmark, readiness polling, free loopback ports, and finding and
// building the binaries under test.
package benchproc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a child in its own process group, logging to a file. Children die
// with us: Pdeathsig, plus an explicit group kill in stopAll (also on Ctrl-C).
type Proc struct {
	Name string    // the name given to Start, for messages
	Cmd  *exec.Cmd // the running command
	Log  string    // path of its log file
	Err  error     // what Wait returned, once it exited
	done chan struct{}
}

var (
	procsMu sync.Mutex
	procs   []*Proc
)

// Start starts cmd in its own process group, logging to dir/name.log.
func Start(name, dir string, cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{Name: name, Cmd: cmd, Log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	lf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %v", name, err)
	}
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	go func() {
		p.Err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
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

// Tail is the end of the process's log, for error messages.
func (p *Proc) Tail() string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop ends the process's group: SIGTERM, SIGKILL after 5 s.
func (p *Proc) Stop() {
	procsMu.Lock()
	for i, q := range procs {
		if q == p {
			procs = append(procs[:i], procs[i+1:]...)
			break
		}
	}
	procsMu.Unlock()
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// StopAll sends SIGTERM to every child's group, waits up to 5 s, then SIGKILLs.
func StopAll() {
	procsMu.Lock()
	ps := procs
	procs = nil
	procsMu.Unlock()
	for _, p := range ps {
		syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(5 * time.Second)
	for _, p := range ps {
		select {
		case <-p.done:
		case <-deadline:
		}
		syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// WaitFor polls ready every 50 ms until it succeeds, p exits or timeout.
func WaitFor(ctx context.Context, p *Proc, what string, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited before %s: %v\n%s", p.Name, what, p.Err, p.Tail())
		}
		if last = ready(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("no %s within %v: %v", what, timeout, last)
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// HTTPReady is a WaitFor check: GET url answers below 500.
func HTTPReady(url string) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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

// Env is os.Environ with overrides (KEY=VALUE) replacing existing keys.
func Env(overrides ...string) []string {
	skip := map[string]bool{}
	for _, o := range overrides {
		k, _, _ := strings.Cut(o, "=")
		skip[k] = true
	}
	var out []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if !skip[k] {
			out = append(out, e)
		}
	}
	return append(out, overrides...)
}

// Root is the integration module's directory: the working directory or a
// parent holding integration/go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	const mod = "module github.com/searchfront/caddy-federate/integration"
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte(mod)) {
			return d, nil
		}
		if b, err := os.ReadFile(filepath.Join(d, "integration", "go.mod")); err == nil && bytes.Contains(b, []byte(mod)) {
			return filepath.Join(d, "integration"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run from integration/ (no integration go.mod above %s)", dir)
		}
	}
}

// HasFederate reports whether the caddy binary lists http.handlers.federate.
func HasFederate(bin string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "list-modules").Output()
	if err != nil {
		return false
	}
	return bytes.Contains(out, []byte("http.handlers.federate\n"))
}

// BuildESShard builds cmd/esshard of the integration module in dir to out.
func BuildESShard(ctx context.Context, dir, out string) error {
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(bctx, "go", "build", "-o", out, "./cmd/esshard")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/esshard: %v\n%s", err, b)
	}
	return nil
}

package benchproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Main runs a benchmark command: run gets a context cancelled by Ctrl-C or
// SIGTERM; every child process is stopped afterwards, and the process exits
// 130 when interrupted, 1 on an error (printed after name).
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	StopAll()
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, name+": interrupted; all processes stopped")
		os.Exit(130)
	}
	fmt.Fprintln(os.Stderr, name+":", err)
	os.Exit(1)
}

// ESShard returns the esshard binary to run: given, when the user named
// one; else a fresh build of dir's cmd/esshard into tmp; else, when that
// build fails (the module's go.mod can be mid-edit in a shared checkout),
// the binary scripts/setup.sh left in dir/bin, with a warning.
func ESShard(ctx context.Context, dir, tmp, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	out := filepath.Join(tmp, "esshard")
	err := BuildESShard(ctx, dir, out)
	if err == nil {
		return out, nil
	}
	prebuilt := filepath.Join(dir, "bin", "esshard")
	if _, serr := os.Stat(prebuilt); serr != nil {
		return "", err
	}
	fmt.Printf("warning: %v\nwarning: using the prebuilt %s instead\n", FirstLine(err.Error()), prebuilt)
	return prebuilt, nil
}

// Do sends one request with client and returns the status and up to
// 64 MiB of the body.
func Do(client *http.Client, method, url, ctype, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// FirstLine is s up to its first newline.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// StartCaddy writes caddyfile to dir/Caddyfile and runs bin on it, with
// HOME and the XDG directories inside dir, until its admin API at admin
// (host:port) answers.
func StartCaddy(ctx context.Context, bin, dir, admin, caddyfile string) (*Proc, error) {
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(caddyfile), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = Env("HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	p, err := Start("caddy", dir, cmd)
	if err != nil {
		return nil, err
	}
	return p, WaitFor(ctx, p, "admin API", 30*time.Second, HTTPReady("http://"+admin+"/config/"))
}

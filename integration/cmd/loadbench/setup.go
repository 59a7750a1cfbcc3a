package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"

	"github.com/searchfront/caddy-federate/integration/corpus"
)

// newerSource is a plugin source file (outside integration/) newer than bin,
// or "": the same staleness test as scripts/setup.sh.
func newerSource(bin, integ string) string {
	st, err := os.Stat(bin)
	if err != nil {
		return ""
	}
	repo := filepath.Dir(integ)
	var found string
	filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if p == integ || d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
			if fi, err := d.Info(); err == nil && fi.ModTime().After(st.ModTime()) {
				found = p
			}
		}
		return nil
	})
	return found
}

// caddyBin returns the federate caddy. It runs scripts/setup.sh (SKIP_APT=1)
// when the binary is missing, lacks the module, or is older than the plugin's
// sources; when a rebuild of a stale binary fails, the old one is used and
// the returned note says so.
func caddyBin(ctx context.Context, o options, dir string) (bin, note string, err error) {
	bin = o.caddy
	if bin == "" {
		bin = os.Getenv("CADDY_BIN")
	}
	explicit := bin != ""
	if bin == "" {
		bin = filepath.Join(dir, "bin", "caddy")
	}
	ok := benchproc.HasFederate(bin)
	stale := ""
	if ok && !explicit && !o.noRebuild {
		stale = newerSource(bin, dir)
	}
	if ok && stale == "" {
		return bin, "", nil
	}
	if explicit && !ok {
		return "", "", fmt.Errorf("%s lacks http.handlers.federate", bin)
	}
	if stale != "" {
		fmt.Printf("%s is older than %s: running scripts/setup.sh (SKIP_APT=1) to rebuild it\n", bin, stale)
	} else {
		fmt.Printf("%s is missing or lacks http.handlers.federate: running scripts/setup.sh (SKIP_APT=1)\n", bin)
	}
	sctx, cancel := context.WithTimeout(ctx, 25*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(sctx, "bash", filepath.Join(dir, "scripts", "setup.sh"))
	cmd.Env = benchproc.Env("SKIP_APT=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	serr := cmd.Run()
	if benchproc.HasFederate(bin) {
		if serr != nil && stale != "" {
			note = fmt.Sprintf("rebuild failed (%v): measured the older binary %s, which predates %s", serr, bin, stale)
			fmt.Println("warning:", note)
		}
		return bin, note, nil
	}
	return "", "", fmt.Errorf("%s still lacks http.handlers.federate after setup.sh (%v; see bin/xcaddy.log)", bin, serr)
}

// writeCorpus builds the Debian-package corpus (package corpus: apt-cache
// dumpavail plus the Translation-en long descriptions), splits it by hash into
// k parts and writes one JSONL file per part.
func writeCorpus(ctx context.Context, dir string, n, k int) ([]string, []int, error) {
	docs, err := corpus.Build(ctx, corpus.Options{N: n, Long: true})
	if err != nil {
		return nil, nil, err
	}
	var files []string
	var sizes []int
	for i, part := range corpus.SplitHash(docs, k) {
		p := filepath.Join(dir, fmt.Sprintf("part%d.jsonl", i))
		if err := corpus.WriteFile(p, part); err != nil {
			return nil, nil, err
		}
		files = append(files, p)
		sizes = append(sizes, len(part))
	}
	return files, sizes, nil
}

// shard is one running esshard.
type shard struct {
	name, addr string
	p          *benchproc.Proc
}

func startShard(ctx context.Context, bin, dir, name, load string) (*shard, error) {
	addrFile := filepath.Join(dir, name+".addr")
	// -gzip=false: wrk sends no Accept-Encoding, but Go's transport (inside
	// reverse_proxy and federate) would ask for gzip and decompress, which
	// would charge the proxied targets for compression the direct one skips.
	cmd := exec.Command(bin, "-scoring", "bm25", "-dir", filepath.Join(dir, name+"-index"),
		"-addr", "127.0.0.1:0", "-addr-file", addrFile, "-index", "docs", "-load", load, "-gzip=false")
	p, err := benchproc.Start(name, dir, cmd)
	if err != nil {
		return nil, err
	}
	s := &shard{name: name, p: p}
	if err := benchproc.WaitFor(ctx, p, "listening address", 3*time.Minute, func() error {
		b, err := os.ReadFile(addrFile)
		if err != nil {
			return err
		}
		s.addr = strings.TrimSpace(string(b))
		if s.addr == "" {
			return fmt.Errorf("empty address file")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return s, benchproc.WaitFor(ctx, p, "GET /", 30*time.Second, benchproc.HTTPReady("http://"+s.addr+"/"))
}

// lastRequest is the newest search request the shard logged (GET /_requests).
func (s *shard) lastRequest() (string, error) {
	code, b, err := do(http.MethodGet, "http://"+s.addr+"/_requests", "", "")
	if err != nil {
		return "", err
	}
	var reqs []struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Body   any    `json:"body"`
	}
	if code != 200 || json.Unmarshal(b, &reqs) != nil {
		return "", fmt.Errorf("%s GET /_requests: %d %.200s", s.name, code, b)
	}
	if len(reqs) == 0 {
		return "", fmt.Errorf("%s: no requests logged", s.name)
	}
	r := reqs[len(reqs)-1]
	body, _ := json.Marshal(r.Body)
	if s, ok := r.Body.(string); ok {
		body = []byte(s)
	}
	return fmt.Sprintf("%s %s %s", r.Method, r.Path, body), nil
}

// caddy is the running caddy with its admin API.
type caddy struct {
	admin string
	dir   string
	p     *benchproc.Proc
}

func startCaddy(ctx context.Context, bin, dir, sites string, adminPort int) (*caddy, error) {
	c := &caddy{admin: fmt.Sprintf("127.0.0.1:%d", adminPort), dir: dir}
	caddyfile := fmt.Sprintf(`{
	admin %s
	auto_https off
	persist_config off
	skip_install_trust
	grace_period 1s
	storage file_system %s
}

%s
`, c.admin, filepath.Join(dir, "storage"), sites)
	p, err := benchproc.StartCaddy(ctx, bin, dir, c.admin, caddyfile)
	if p == nil {
		return nil, err
	}
	c.p = p
	return c, err // with the process, to be stopped, when it never got ready
}

var adminClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableCompression: true}}

func do(method, url, ctype, body string) (int, []byte, error) {
	return benchproc.Do(adminClient, method, url, ctype, body)
}

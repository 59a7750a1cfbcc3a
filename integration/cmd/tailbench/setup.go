package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

// caddyBin returns the federate caddy, running scripts/setup.sh when it is
// missing or lacks the module.
func caddyBin(ctx context.Context, o options, dir string) (string, error) {
	bin := o.caddy
	if bin == "" {
		bin = os.Getenv("CADDY_BIN")
	}
	if bin == "" {
		bin = filepath.Join(dir, "bin", "caddy")
	}
	if benchproc.HasFederate(bin) {
		return bin, nil
	}
	fmt.Printf("%s is missing or lacks http.handlers.federate: running scripts/setup.sh (SKIP_APT=1)\n", bin)
	sctx, cancel := context.WithTimeout(ctx, 25*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(sctx, "bash", filepath.Join(dir, "scripts", "setup.sh"))
	cmd.Env = benchproc.Env("SKIP_APT=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/setup.sh: %v", err)
	}
	if !benchproc.HasFederate(bin) {
		return "", fmt.Errorf("%s still lacks http.handlers.federate after setup.sh (see bin/xcaddy.log)", bin)
	}
	return bin, nil
}

// vocabulary is a fixed list of made-up words; documents draw from it with a
// Zipf distribution, queries from its more frequent half.
func vocabulary(n int) []string {
	cons := []string{"b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"}
	vow := []string{"a", "e", "i", "o", "u"}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for k := 2 + r.IntN(2); k > 0; k-- {
			b.WriteString(cons[r.IntN(len(cons))])
			b.WriteString(vow[r.IntN(len(vow))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// writeCorpus writes one JSONL file per shard (ids unique across shards).
func writeCorpus(dir string, shards, perShard int, vocab []string) ([]string, error) {
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.1, 4, uint64(len(vocab)-1))
	words := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[z.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	var files []string
	for s := 0; s < shards; s++ {
		path := filepath.Join(dir, fmt.Sprintf("shard%d.jsonl", s))
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		for i := 0; i < perShard; i++ {
			enc.Encode(map[string]any{
				"id":      fmt.Sprintf("s%d-%05d", s, i),
				"title":   words(3 + r.IntN(4)),
				"body":    words(30 + r.IntN(40)),
				"section": vocab[r.IntN(8)],
			})
		}
		if err := w.Flush(); err != nil {
			return nil, err
		}
		f.Close()
		files = append(files, path)
	}
	return files, nil
}

// replica is one running esshard.
type replica struct {
	shard, idx int
	addr       string
	p          *benchproc.Proc
}

func startReplica(ctx context.Context, bin, dir string, shard, idx int, load string) (*replica, error) {
	name := fmt.Sprintf("esshard-s%d-r%d", shard, idx)
	addrFile := filepath.Join(dir, name+".addr")
	cmd := exec.Command(bin, "-scoring", "bm25", "-dir", filepath.Join(dir, name+"-index"),
		"-addr", "127.0.0.1:0", "-addr-file", addrFile, "-index", "docs", "-load", load, "-gzip=false")
	p, err := benchproc.Start(name, dir, cmd)
	if err != nil {
		return nil, err
	}
	r := &replica{shard: shard, idx: idx, p: p}
	if err := benchproc.WaitFor(ctx, p, "listening address", 2*time.Minute, func() error {
		b, err := os.ReadFile(addrFile)
		if err != nil {
			return err
		}
		r.addr = strings.TrimSpace(string(b))
		return nil
	}); err != nil {
		return nil, err
	}
	return r, benchproc.WaitFor(ctx, p, "GET /", 30*time.Second, benchproc.HTTPReady("http://"+r.addr+"/"))
}

func (r *replica) setFault(share float64, ms int) error {
	method, body := http.MethodDelete, ""
	if share > 0 {
		method, body = http.MethodPost, fmt.Sprintf(`{"slow_share":%g,"slow_ms":%d}`, share, ms)
	}
	code, b, err := do(method, "http://"+r.addr+"/_fault", "application/json", body)
	if err == nil && code != 200 {
		err = fmt.Errorf("%s /_fault: %d %s", method, code, b)
	}
	return err
}

func (r *replica) searches() (int, error) {
	code, b, err := do(http.MethodGet, "http://"+r.addr+"/_stats", "", "")
	if err != nil {
		return 0, err
	}
	var st struct {
		Searches int `json:"searches"`
	}
	if code != 200 || json.Unmarshal(b, &st) != nil {
		return 0, fmt.Errorf("%s GET /_stats: %d %.200s", r.addr, code, b)
	}
	return st.Searches, nil
}

// caddy is the running caddy with its admin API.
type caddy struct {
	admin, front string
	port         int
	dir          string
	p            *benchproc.Proc
}

func (c *caddy) caddyfile(sites string) string {
	return fmt.Sprintf(`{
	admin %s
	auto_https off
	persist_config off
	skip_install_trust
	grace_period 1s
	storage file_system %s
}

%s
`, c.admin, filepath.Join(c.dir, "storage"), sites)
}

func startCaddy(ctx context.Context, bin, dir, sites string, port, adminPort int) (*caddy, error) {
	c := &caddy{admin: fmt.Sprintf("127.0.0.1:%d", adminPort), port: port, dir: dir,
		front: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p, err := benchproc.StartCaddy(ctx, bin, dir, c.admin, c.caddyfile(sites))
	c.p = p
	if err != nil {
		return nil, err
	}
	return c, benchproc.WaitFor(ctx, p, "site", 10*time.Second, benchproc.HTTPReady(c.front+"/"))
}

// hedgeCounters reads caddy_federate_hedges_{sent,won}_total summed over the
// shards whose name starts with prefix.
func (c *caddy) hedgeCounters(prefix string) (sent, won float64, err error) {
	code, b, err := do(http.MethodGet, "http://"+c.admin+"/metrics", "", "")
	if err != nil {
		return 0, 0, err
	}
	if code != 200 {
		return 0, 0, fmt.Errorf("GET /metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var dst *float64
		switch {
		case strings.HasPrefix(line, "caddy_federate_hedges_sent_total{"):
			dst = &sent
		case strings.HasPrefix(line, "caddy_federate_hedges_won_total{"):
			dst = &won
		default:
			continue
		}
		if !strings.Contains(line, `shard="`+prefix) {
			continue
		}
		var v float64
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			fmt.Sscanf(line[i+1:], "%g", &v)
		}
		*dst += v
	}
	return sent, won, sc.Err()
}

var adminClient = &http.Client{Timeout: 30 * time.Second}

func do(method, url, ctype, body string) (int, []byte, error) {
	return benchproc.Do(adminClient, method, url, ctype, body)
}

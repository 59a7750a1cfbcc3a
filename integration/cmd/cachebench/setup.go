package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

// startShard runs one esshard over a JSONL file and returns its address.
func startShard(ctx context.Context, bin, dir, name, load string) (string, error) {
	addrFile := filepath.Join(dir, name+".addr")
	cmd := exec.Command(bin, "-scoring", "bm25", "-dir", filepath.Join(dir, name+"-index"),
		"-addr", "127.0.0.1:0", "-addr-file", addrFile, "-index", "docs", "-load", load, "-gzip=false")
	p, err := benchproc.Start(name, dir, cmd)
	if err != nil {
		return "", err
	}
	var addr string
	if err := benchproc.WaitFor(ctx, p, "listening address", 3*time.Minute, func() error {
		b, err := os.ReadFile(addrFile)
		if err != nil || len(b) == 0 {
			return fmt.Errorf("no address yet: %v", err)
		}
		addr = strings.TrimSpace(string(b))
		return nil
	}); err != nil {
		return "", err
	}
	return addr, benchproc.WaitFor(ctx, p, "GET /", 30*time.Second, benchproc.HTTPReady("http://"+addr+"/"))
}

// startRedis runs a private redis-server without persistence.
func startRedis(ctx context.Context, dir string) (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server: %w (apt-get install redis-server, or scripts/setup.sh)", err)
	}
	port, err := benchproc.FreePort()
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := benchproc.Start("redis", dir, exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"))
	if err != nil {
		return "", err
	}
	return addr, benchproc.WaitFor(ctx, p, "redis PING", 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, _ = c.Write([]byte("PING\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+PONG") {
			return fmt.Errorf("PING: %q %v", line, err)
		}
		return nil
	})
}

// reload replaces caddy's config through its admin API.
func reload(admin, caddyfile string) error {
	code, b, err := benchproc.Do(http.DefaultClient, http.MethodPost, "http://"+admin+"/load", "text/caddyfile", caddyfile)
	if err != nil || code != 200 {
		return fmt.Errorf("POST /load: %d %v %.300s", code, err, b)
	}
	return nil
}

// shardSearches sums the shards' search counters (GET /_stats).
func shardSearches(shards []string) (int64, error) {
	var total int64
	for _, a := range shards {
		code, b, err := benchproc.Do(http.DefaultClient, http.MethodGet, "http://"+a+"/_stats", "", "")
		var st struct {
			Searches int64 `json:"searches"`
		}
		if err != nil || code != 200 || json.Unmarshal(b, &st) != nil {
			return 0, fmt.Errorf("%s GET /_stats: %d %v %.200s", a, code, err, b)
		}
		total += st.Searches
	}
	return total, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

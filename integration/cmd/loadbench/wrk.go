package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// queryWords make the distinct queries: request n of a wrk thread asks for
// three of them, picked by n, so no two requests in a run share a query and
// every target gets the same sequence. Words Debian package descriptions
// use, so the bleve shards find hits.
var queryWords = []string{"network", "monitoring", "tool", "library", "python", "server", "editor", "file",
	"system", "data", "development", "files", "documentation", "package", "utility", "client", "interface",
	"support", "graphical", "command", "line", "shared", "module", "perl", "image", "audio", "video", "font",
	"web", "database", "security", "game", "kernel", "driver", "terminal", "text", "mail", "backup", "compiler",
	"test", "plugin", "desktop", "service", "protocol", "parser", "manager", "viewer", "display", "search", "xml"}

// wrkScript is the Lua script every target gets: POST with the JSON body,
// where {{q}} becomes a query of its own for every request (see
// queryWords), and a done() that prints the summary and latency
// percentiles (µs) as one JSON line, so nothing depends on wrk's
// human-readable output.
func wrkScript(dir, body string) (string, error) {
	if strings.Contains(body, "]==]") {
		return "", fmt.Errorf("body must not contain ]==]")
	}
	words := `"` + strings.Join(queryWords, `","`) + `"`
	script := `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local template = [==[` + body + `]==]
local words = {` + words + `}
local nw = #words
local distinct = string.find(template, "{{q}}", 1, true) ~= nil
local static = template

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local n = 0
function init(args)
  n = (tid or 0) * 7919 * 31
end

function request()
  if not distinct then
    return wrk.format(nil, nil, nil, static)
  end
  n = n + 1
  local a = n % nw
  local b = math.floor(n / nw) % nw
  local c = math.floor(n / (nw * nw)) % nw
  local q = words[a + 1] .. " " .. words[b + 1] .. " " .. words[c + 1]
  local body = string.gsub(template, "{{q}}", q, 1)
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOADBENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
`
	p := filepath.Join(dir, "post.lua")
	return p, os.WriteFile(p, []byte(script), 0o644)
}

// wrkResult is one wrk run.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"` // non-2xx/3xx answers
	Timeout    int64   `json:"timeout"`
	P50        float64 `json:"p50"` // µs
	P90        float64 `json:"p90"`
	P99        float64 `json:"p99"`
	P999       float64 `json:"p999"`
	Max        float64 `json:"max"`
	Mean       float64 `json:"mean"`
	// wrk's own CPU time (user+system), from its rusage.
	CPU time.Duration `json:"-"`
}

func (r wrkResult) rps() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

func (r wrkResult) errors() int64 { return r.Connect + r.Read + r.Write + r.Status + r.Timeout }

// runWrk runs wrk against url for d with keep-alive connections; it is
// bounded by d + 30 s.
func runWrk(ctx context.Context, script, url string, threads, conns int, d time.Duration) (wrkResult, error) {
	wctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	secs := strconv.Itoa(int(d.Round(time.Second) / time.Second))
	if d < time.Second {
		secs = "1"
	}
	cmd := exec.CommandContext(wctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", secs+"s", "--timeout", "5s", "--latency", "-s", script, url)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var r wrkResult
	if cmd.ProcessState != nil {
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return r, fmt.Errorf("wrk %s: %v\n%s%s", url, err, out.String(), errb.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "LOADBENCH "); ok {
			cpu := r.CPU
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				return r, fmt.Errorf("wrk summary %q: %v", j, err)
			}
			r.CPU = cpu
			return r, nil
		}
	}
	return r, fmt.Errorf("wrk %s: no summary line in output:\n%s%s", url, out.String(), errb.String())
}

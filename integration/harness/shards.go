package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/internal/shardapi"
)

// Fault is a shard server's misbehaviour (see POST /_fault).
type Fault = shardapi.Fault

// Request is a search request as a shard server saw it.
type Request = shardapi.Request

// ShardOptions configure a shard server.
type ShardOptions struct {
	// Name labels the process and its log (default: the command's name).
	Name string
	// Index is the Elasticsearch index / Meilisearch uid (default "docs").
	Index string
	// Docs are indexed before the server listens; LoadFile is a JSONL file
	// indexed instead when Docs is nil.
	Docs     []corpus.Doc
	LoadFile string
	// Scoring is esshard's model, "bm25" (default) or "tfidf".
	Scoring string
	// Fault is the initial fault.
	Fault *Fault
	// NoGzip turns off gzip answers to clients that accept them.
	NoGzip bool
	// Args are extra command-line flags.
	Args []string
}

// Shard is a running esshard or pgshard.
type Shard struct {
	Name  string
	Index string
	// Addr is host:port, URL is http://Addr.
	Addr string
	URL  string
	Proc *Proc
}

// StartESShard starts a bleve shard server.
func StartESShard(t testing.TB, o ShardOptions) *Shard {
	t.Helper()
	// The index lives in the test's temporary directory, so even a killed
	// esshard leaves nothing behind.
	args := []string{"-scoring", orDefault(o.Scoring, "bm25"), "-dir", filepath.Join(t.TempDir(), "index")}
	return startShard(t, "esshard", o, args)
}

// StartPGShard starts a PostgreSQL full-text shard server on pg, in its own
// table (named after the index: give each shard on one cluster its own Index).
func StartPGShard(t testing.TB, pg *Postgres, o ShardOptions) *Shard {
	t.Helper()
	return startShard(t, "pgshard", o, []string{"-dsn", pg.DSN()})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func startShard(t testing.TB, command string, o ShardOptions, args []string) *Shard {
	t.Helper()
	bin := Binary(t, command)
	dir := t.TempDir()
	s := &Shard{Name: orDefault(o.Name, command), Index: orDefault(o.Index, "docs")}
	addrFile := filepath.Join(dir, "addr")
	args = append(args, "-addr", "127.0.0.1:0", "-addr-file", addrFile, "-index", s.Index)
	load := o.LoadFile
	if o.Docs != nil {
		load = filepath.Join(dir, "docs.jsonl")
		if err := corpus.WriteFile(load, o.Docs); err != nil {
			t.Fatal(err)
		}
	}
	if load != "" {
		args = append(args, "-load", load)
	}
	if o.Fault != nil {
		b, _ := json.Marshal(o.Fault)
		args = append(args, "-fault", string(b))
	}
	if o.NoGzip {
		args = append(args, "-gzip=false")
	}
	args = append(args, o.Args...)
	s.Proc = Start(t, s.Name, dir, exec.Command(bin, args...))
	WaitFor(t, s.Proc, "listening address", 3*time.Minute, func(context.Context) error {
		b, err := os.ReadFile(addrFile)
		if err != nil {
			return err
		}
		s.Addr = strings.TrimSpace(string(b))
		return nil
	})
	s.URL = "http://" + s.Addr
	WaitFor(t, s.Proc, "GET /", 30*time.Second, HTTPReady(s.URL+"/"))
	return s
}

// Do sends one request to the shard server and returns status and body
// (bounded by a 30 s timeout).
func (s *Shard) Do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	return Do(t, method, s.URL+path, body)
}

// SetFault replaces the shard's fault.
func (s *Shard) SetFault(t testing.TB, f Fault) {
	t.Helper()
	if code, b := s.Do(t, http.MethodPost, "/_fault", f); code != 200 {
		t.Fatalf("%s: POST /_fault: %d %s", s.Name, code, b)
	}
}

// ClearFault makes the shard healthy again.
func (s *Shard) ClearFault(t testing.TB) { s.SetFault(t, Fault{}) }

// Requests returns the shard's recent search requests, oldest first.
func (s *Shard) Requests(t testing.TB) []Request {
	t.Helper()
	code, b := s.Do(t, http.MethodGet, "/_requests", nil)
	var out []Request
	if code != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("%s: GET /_requests: %d %s", s.Name, code, b)
	}
	return out
}

// ClearRequests empties the shard's request log.
func (s *Shard) ClearRequests(t testing.TB) { s.Do(t, http.MethodDelete, "/_requests", nil) }

// Stats are a shard server's counters.
type Stats struct {
	Docs     int `json:"docs"`
	Searches int `json:"searches"`
	Faulted  int `json:"faulted"`
}

// Stats reads GET /_stats.
func (s *Shard) Stats(t testing.TB) Stats {
	t.Helper()
	code, b := s.Do(t, http.MethodGet, "/_stats", nil)
	var st Stats
	if code != 200 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("%s: GET /_stats: %d %s", s.Name, code, b)
	}
	return st
}

// Do sends a request with a JSON body (a []byte or string is sent as is) and
// returns the status and the (decompressed) body.
func Do(t testing.TB, method, url string, body any) (int, []byte) {
	t.Helper()
	code, b, err := DoErr(method, url, body, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code, b
}

// DoErr is Do returning transport errors, with optional extra headers.
func DoErr(method, url string, body any, header http.Header) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("reading body: %w", err)
	}
	return resp.StatusCode, b, nil
}

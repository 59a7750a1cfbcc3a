package caddyfederate

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "federate-test")
	if err != nil {
		panic(err)
	}
	for _, v := range []string{"HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"} {
		os.Setenv(v, dir)
	}
	code := m.Run()
	_ = caddy.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCaddy adapts a Caddyfile site body (what goes inside the site block)
// and loads it into the in-process Caddy; it returns the site's base URL.
func startCaddy(t testing.TB, site string) string {
	t.Helper()
	port := freePort(t)
	cf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tgrace_period 100ms\n\tpersist_config off\n}\nhttp://127.0.0.1:%d {\n%s\n}\n", port, site)
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v\n%s", err, cf)
	}
	if len(warn) > 0 {
		t.Logf("adapt warnings: %v", warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v\n%s", err, cfg)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// fakeHit is a document of a fake engine, in its rank order.
type fakeHit struct {
	ID    string
	Score float64
	Title string
}

// seenRequest is what a fake engine received.
type seenRequest struct {
	Method string
	Path   string
	Body   map[string]any
	Header http.Header
}

// fakeEngine is an in-process stand-in for one search engine replica,
// speaking the Meilisearch or Elasticsearch search route.
type fakeEngine struct {
	t       testing.TB
	srv     *httptest.Server
	dialect string // "meilisearch" or "elasticsearch"
	hits    []fakeHit

	mu       sync.Mutex
	delay    time.Duration
	status   int    // answer this status instead of a search answer
	raw      string // answer these bytes instead of a search answer
	seen     []seenRequest
	canceled chan struct{} // closed the first time a request's context ends before the answer
	once     sync.Once
	echoQ    bool // each hit's id is "<q>/<shard id>": proves which query the engine saw
	noGzip   bool // answer uncompressed even when gzip is accepted

	conns atomic.Int32 // connections open on the engine's side
}

func newFakeEngine(t testing.TB, dialect string, hits ...fakeHit) *fakeEngine {
	f := &fakeEngine{t: t, dialect: dialect, hits: hits, canceled: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			f.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			f.conns.Add(-1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// addr is the host:port reverse_proxy dials.
func (f *fakeEngine) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeEngine) set(fn func(f *fakeEngine)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeEngine) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Body: body, Header: r.Header.Clone()})
	delay, status, rawAnswer, echo, noGzip := f.delay, f.status, f.raw, f.echoQ, f.noGzip
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			f.once.Do(func() { close(f.canceled) })
			return
		}
	}
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"fake failure","code":"internal"}`)
		return
	}
	var out []byte
	if rawAnswer != "" {
		out = []byte(rawAnswer)
	} else {
		out = f.answer(body, echo)
	}
	w.Header().Set("Content-Type", "application/json")
	if !noGzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(out)
		_ = zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		out = b.Bytes()
	}
	_, _ = w.Write(out)
}

// answer builds a search answer for the window the request asked.
func (f *fakeEngine) answer(body map[string]any, echo bool) []byte {
	q, _ := body["q"].(string)
	offKey, limKey := "offset", "limit"
	if f.dialect == "elasticsearch" {
		offKey, limKey = "from", "size"
		q = fmt.Sprint(body["query"])
	}
	off, lim := intOf(body[offKey], 0), intOf(body[limKey], 20)
	hits := f.hits
	if off > len(hits) {
		off = len(hits)
	}
	hits = hits[off:min(len(hits), off+lim)]
	docs := make([]json.RawMessage, 0, len(hits))
	for _, h := range hits {
		id := h.ID
		if echo {
			id = q + "/" + h.ID
		}
		var doc []byte
		if f.dialect == "elasticsearch" {
			src, _ := json.Marshal(map[string]any{"id": id, "title": h.Title})
			doc, _ = json.Marshal(map[string]any{"_index": "docs", "_id": id, "_score": h.Score, "_source": json.RawMessage(src)})
		} else {
			doc, _ = json.Marshal(map[string]any{"id": id, "title": h.Title, "_rankingScore": h.Score})
		}
		docs = append(docs, doc)
	}
	var out []byte
	if f.dialect == "elasticsearch" {
		out, _ = json.Marshal(map[string]any{
			"took": 1, "timed_out": false,
			"_shards": map[string]int{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
			"hits":    map[string]any{"total": map[string]any{"value": len(f.hits), "relation": "eq"}, "hits": docs},
		})
	} else {
		out, _ = json.Marshal(map[string]any{
			"hits": docs, "query": q, "processingTimeMs": 1, "offset": off, "limit": lim,
			"estimatedTotalHits": len(f.hits),
		})
	}
	return out
}

func intOf(v any, def int) int {
	if n, ok := v.(float64); ok {
		return int(n)
	}
	return def
}

// search posts body to url and decodes the JSON answer.
func search(t testing.TB, url, body string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	resp, raw := do(t, http.MethodPost, url, body, append([]string{"Content-Type", "application/json"}, hdr...)...)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (%d): %v\n%s", resp.StatusCode, err, raw)
	}
	return resp, out
}

// hitIDs lists the ids of a Meilisearch-dialect answer's hits.
func hitIDs(t testing.TB, out map[string]any) []string {
	t.Helper()
	hits, ok := out["hits"].([]any)
	if !ok {
		t.Fatalf("no hits array in %v", out)
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i], _ = h.(map[string]any)["id"].(string)
	}
	return ids
}

// hitShards lists the _federation.shard of a Meilisearch-dialect answer's hits.
func hitShards(t testing.TB, out map[string]any) []string {
	t.Helper()
	hits, _ := out["hits"].([]any)
	shards := make([]string, len(hits))
	for i, h := range hits {
		fed, _ := h.(map[string]any)["_federation"].(map[string]any)
		shards[i], _ = fed["shard"].(string)
	}
	return shards
}

// counterValue reads a Prometheus counter.
func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

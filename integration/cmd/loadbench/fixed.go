package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

// fixedHits is how many hits every answer of the fixed backend holds.
const fixedHits = 10

// The fixed backend is loadbench itself, re-run with -serve-fixed: one
// process listening on one loopback port per corpus part, answering every
// search with the same JSON body built from that part's first documents, so
// that it spends microseconds per request and only the proxy's own cost
// shows. A path ending in /_search gets an Elasticsearch answer, any other
// a Meilisearch answer (with _rankingScore, as federate asks for it). The
// request body is read and dropped.

// startFixed runs the fixed backend over the corpus parts and returns its
// addresses, one per part.
func startFixed(ctx context.Context, dir string, parts []string) ([]string, *benchproc.Proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	addrFile := filepath.Join(dir, "fixed.addr")
	cmd := exec.Command(self, append([]string{"-serve-fixed", addrFile}, parts...)...)
	p, err := benchproc.Start("fixed", dir, cmd)
	if err != nil {
		return nil, nil, err
	}
	var addrs []string
	if err := benchproc.WaitFor(ctx, p, "listening addresses", 30*time.Second, func() error {
		b, err := os.ReadFile(addrFile)
		if err != nil {
			return err
		}
		addrs = strings.Fields(string(b))
		if len(addrs) != len(parts) {
			return fmt.Errorf("%d addresses for %d parts", len(addrs), len(parts))
		}
		return nil
	}); err != nil {
		return nil, p, err
	}
	return addrs, p, nil
}

// serveFixed is the fixed backend's main: it listens on one port per part,
// writes the addresses (space-separated) to addrFile once all listen, and
// serves until killed.
func serveFixed(addrFile string, parts []string) error {
	var addrs []string
	errc := make(chan error, len(parts))
	for _, part := range parts {
		meili, es, err := fixedAnswers(part)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		srv := &http.Server{Handler: fixedHandler(meili, es), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
	}
	tmp := addrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(addrs, " ")), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, addrFile); err != nil {
		return err
	}
	return <-errc
}

func fixedHandler(meili, es []byte) http.HandlerFunc {
	meiliLen, esLen := fmt.Sprint(len(meili)), fmt.Sprint(len(es))
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		body, n := meili, meiliLen
		if strings.HasSuffix(r.URL.Path, "/_search") {
			body, n = es, esLen
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{n}
		_, _ = w.Write(body)
	}
}

// fixedAnswers builds the Meilisearch and Elasticsearch answers of one part:
// its first fixedHits documents, scores falling from 0.95.
func fixedAnswers(part string) (meili, es []byte, err error) {
	f, err := os.Open(part)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	docs, err := corpus.ReadJSONL(f)
	if err != nil {
		return nil, nil, err
	}
	if len(docs) > fixedHits {
		docs = docs[:fixedHits]
	}
	type meiliHit struct {
		corpus.Doc
		Score float64 `json:"_rankingScore"`
	}
	type esHit struct {
		Index  string     `json:"_index"`
		ID     string     `json:"_id"`
		Score  float64    `json:"_score"`
		Source corpus.Doc `json:"_source"`
	}
	mh := make([]meiliHit, len(docs))
	eh := make([]esHit, len(docs))
	for i, d := range docs {
		s := float64(95-5*i) / 100
		mh[i] = meiliHit{d, s}
		eh[i] = esHit{"docs", d.ID, 10 * s, d}
	}
	meili, err = json.Marshal(map[string]any{
		"hits": mh, "query": "fixed", "processingTimeMs": 0, "limit": fixedHits, "offset": 0,
		"estimatedTotalHits": 1000,
	})
	if err != nil {
		return nil, nil, err
	}
	es, err = json.Marshal(map[string]any{
		"took": 0, "timed_out": false,
		"_shards": map[string]int{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits": map[string]any{
			"total":     map[string]any{"value": 1000, "relation": "eq"},
			"max_score": 9.5,
			"hits":      eh,
		},
	})
	return meili, es, err
}

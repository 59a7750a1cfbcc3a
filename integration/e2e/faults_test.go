package e2e

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// TestShardFaults drives every fault a shard server can inject and checks what
// a client sees.
func TestShardFaults(t *testing.T) {
	harness.Heavy(t)
	s := harness.StartESShard(t, harness.ShardOptions{Docs: corpus1000(t)[:200]})
	url := s.URL + "/docs/_search"
	q := textQuery("library", 3)

	t.Run("status", func(t *testing.T) {
		s.SetFault(t, harness.Fault{Status: 500})
		defer s.ClearFault(t)
		code, b := harness.Do(t, http.MethodPost, url, q)
		var e struct {
			Error  struct{ Type string } `json:"error"`
			Status int
		}
		if code != 500 || json.Unmarshal(b, &e) != nil || e.Status != 500 || e.Error.Type == "" {
			t.Fatalf("got %d %s, want an Elasticsearch 500 error", code, b)
		}
	})
	t.Run("status share", func(t *testing.T) {
		s.SetFault(t, harness.Fault{Status: 503, StatusShare: 0.25})
		defer s.ClearFault(t)
		failed := 0
		for range 8 {
			if code, _ := harness.Do(t, http.MethodPost, url, q); code == 503 {
				failed++
			}
		}
		if failed != 2 {
			t.Fatalf("%d of 8 answers failed, want exactly 2", failed)
		}
	})
	t.Run("count", func(t *testing.T) {
		s.SetFault(t, harness.Fault{Status: 500, Count: 1})
		defer s.ClearFault(t)
		c1, _ := harness.Do(t, http.MethodPost, url, q)
		c2, _ := harness.Do(t, http.MethodPost, url, q)
		if c1 != 500 || c2 != 200 {
			t.Fatalf("got %d then %d, want 500 then 200", c1, c2)
		}
	})
	t.Run("html", func(t *testing.T) {
		s.SetFault(t, harness.Fault{HTML: true})
		defer s.ClearFault(t)
		code, b := harness.Do(t, http.MethodPost, url, q)
		if code != 200 || !strings.HasPrefix(string(b), "<!DOCTYPE html>") {
			t.Fatalf("got %d %.80s", code, b)
		}
	})
	t.Run("delay", func(t *testing.T) {
		s.SetFault(t, harness.Fault{DelayMS: 300})
		defer s.ClearFault(t)
		start := time.Now()
		harness.Do(t, http.MethodPost, url, q)
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Fatalf("answer after %v, want at least 300ms", d)
		}
	})
	t.Run("slow share", func(t *testing.T) {
		s.SetFault(t, harness.Fault{SlowShare: 0.5, SlowMS: 200})
		defer s.ClearFault(t)
		slow := 0
		for range 4 {
			start := time.Now()
			harness.Do(t, http.MethodPost, url, q)
			if time.Since(start) >= 200*time.Millisecond {
				slow++
			}
		}
		if slow != 2 {
			t.Fatalf("%d of 4 answers slow, want 2", slow)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		s.SetFault(t, harness.Fault{Truncate: true})
		defer s.ClearFault(t)
		if _, b, err := harness.DoErr(http.MethodPost, url, q, nil); err == nil {
			t.Fatalf("truncated answer read without error: %.80s", b)
		}
	})
	t.Run("drop", func(t *testing.T) {
		s.SetFault(t, harness.Fault{Drop: true})
		defer s.ClearFault(t)
		if code, _, err := harness.DoErr(http.MethodPost, url, q, nil); err == nil {
			t.Fatalf("dropped connection answered %d", code)
		}
	})
	t.Run("oversize", func(t *testing.T) {
		s.SetFault(t, harness.Fault{OversizeBytes: 9 << 20})
		defer s.ClearFault(t)
		code, b := harness.Do(t, http.MethodPost, url, q)
		if code != 200 || len(b) < 9<<20 || !json.Valid(b) {
			t.Fatalf("got %d, %d bytes, valid JSON %v", code, len(b), json.Valid(b))
		}
	})
	t.Run("gzip", func(t *testing.T) {
		// An explicit Accept-Encoding keeps Go's transport from decompressing.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{"size":1}`))
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		decodeES(t, resp.StatusCode, b)

		s.SetFault(t, harness.Fault{Gzip: new(bool)})
		defer s.ClearFault(t)
		code, b, err := harness.DoErr(http.MethodPost, url, `{"size":1}`, http.Header{"Accept-Encoding": {"gzip"}})
		if err != nil || !json.Valid(b) {
			t.Fatalf("gzip off: %d %v %.80s", code, err, b)
		}
	})
	t.Run("requests and stats", func(t *testing.T) {
		s.ClearRequests(t)
		harness.Do(t, http.MethodPost, url, `{"size":1,"query":{"match":{"title":"marker-42"}}}`)
		reqs := s.Requests(t)
		if len(reqs) != 1 || !strings.Contains(reqs[0].Body, "marker-42") || reqs[0].Path != "/docs/_search" {
			t.Fatalf("request log %+v", reqs)
		}
		if st := s.Stats(t); st.Searches == 0 || st.Faulted == 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

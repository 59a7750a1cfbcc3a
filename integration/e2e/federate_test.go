package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// federateBin is the caddy binary with the module. While no package registers
// http.handlers.federate the federate tests skip, since the handler has not
// landed; after that a missing binary fails them under CI=true.
func federateBin(t *testing.T) string {
	t.Helper()
	if !harness.HandlerLanded() {
		t.Skip("no package registers http.handlers.federate yet")
	}
	return harness.FederateCaddy(t)
}

// TestFederateCaddyBuilds checks that caddy builds with the module as the
// README tells users (scripts/setup.sh) and lists http.handlers.federate.
func TestFederateCaddyBuilds(t *testing.T) {
	t.Logf("caddy with the module: %s", federateBin(t))
}

// threeEngines starts bleve BM25, bleve TF-IDF and PostgreSQL shards over a
// random three-way split of corpus1000.
func threeEngines(t *testing.T) []*harness.Shard {
	parts := corpus.SplitHash(corpus1000(t), 3)
	pg := harness.StartPostgres(t)
	return []*harness.Shard{
		harness.StartESShard(t, harness.ShardOptions{Name: "bm25", Docs: parts[0]}),
		harness.StartESShard(t, harness.ShardOptions{Name: "tfidf", Docs: parts[1], Scoring: "tfidf"}),
		harness.StartPGShard(t, pg, harness.ShardOptions{Name: "pg", Docs: parts[2]}),
	}
}

// TestFederateElasticsearch: an Elasticsearch client in front of three
// different engines gets one merged page with per-shard accounting; a failing
// shard makes the answer partial, not an error.
func TestFederateElasticsearch(t *testing.T) {
	harness.Heavy(t)
	bin := federateBin(t)
	shards := threeEngines(t)
	port := harness.FreePort(t)
	site := fmt.Sprintf("http://%s {\n\tfederate {\n\t\tdialect elasticsearch\n\t\ttimeout 2s\n", harness.Addr(port))
	for _, s := range shards {
		site += fmt.Sprintf("\t\tshard %s %s {\n\t\t\tindex docs\n\t\t}\n", s.Name, s.Addr)
	}
	site += "\t}\n}\n"
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	front := "http://" + harness.Addr(port) + "/docs/_search"
	harness.WaitFor(t, c.Proc, "site listening", 10*time.Second, harness.HTTPReady("http://"+harness.Addr(port)+"/"))

	q := textQuery("network server", 10)
	code, body, err := harness.DoErr(http.MethodPost, front, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := decodeES(t, code, body)
	if len(a.Hits.Hits) != 10 || a.Shards.Total != 3 || a.Shards.Successful != 3 {
		t.Fatalf("merged answer: %d hits, _shards %+v: %.400s", len(a.Hits.Hits), *a.Shards, body)
	}
	sum := 0
	for _, s := range shards {
		sum += esSearch(t, s.URL+"/docs/_search", q).Hits.Total.Value
		if n := len(s.Requests(t)); n == 0 {
			t.Errorf("shard %s saw no request", s.Name)
		}
	}
	if a.Hits.Total.Value != sum {
		t.Errorf("merged total %d, shards' totals add to %d", a.Hits.Total.Value, sum)
	}

	checkOpenSearchClient(t, "http://"+harness.Addr(port))

	shards[2].SetFault(t, harness.Fault{Status: 500})
	code, body, err = harness.DoErr(http.MethodPost, front, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := decodeES(t, code, body)
	if p.Shards.Failed != 1 || p.Shards.Successful != 2 || len(p.Hits.Hits) == 0 {
		t.Fatalf("one shard failing: _shards %+v: %.400s", *p.Shards, body)
	}
	shards[2].ClearFault(t)
	t.Logf("goroutines after the test's requests: %d", c.Goroutines(t))
}

// TestFederateMeilisearch: a Meilisearch client over mixed shard dialects
// (one Meilisearch, two Elasticsearch); a shard past its deadline is reported
// in remoteErrors and the answer still comes in time.
func TestFederateMeilisearch(t *testing.T) {
	harness.Heavy(t)
	bin := federateBin(t)
	shards := threeEngines(t)
	port := harness.FreePort(t)
	dialects := []string{"meilisearch", "elasticsearch", "elasticsearch"}
	site := fmt.Sprintf("http://%s {\n\tfederate /indexes/* {\n\t\tdialect meilisearch\n\t\ttimeout 2s\n", harness.Addr(port))
	for i, s := range shards {
		site += fmt.Sprintf("\t\tshard %s %s {\n\t\t\tdialect %s\n\t\t\tindex docs\n\t\t\ttimeout 500ms\n\t\t}\n", s.Name, s.Addr, dialects[i])
	}
	site += "\t}\n}\n"
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	front := "http://" + harness.Addr(port) + "/indexes/docs/search"
	harness.WaitFor(t, c.Proc, "site listening", 10*time.Second, harness.HTTPReady("http://"+harness.Addr(port)+"/"))

	search := func() (http.Header, map[string]any, time.Duration) {
		t.Helper()
		start := time.Now()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, front,
			strings.NewReader(`{"q":"network server","limit":10}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, &m) != nil {
			t.Fatalf("status %d: %.300s", resp.StatusCode, b)
		}
		return resp.Header, m, time.Since(start)
	}

	h, m, _ := search()
	hits, _ := m["hits"].([]any)
	if len(hits) != 10 || h.Get("Federate-Complete") != "true" {
		t.Fatalf("%d hits, Federate-Complete %q: %v", len(hits), h.Get("Federate-Complete"), m)
	}
	first, _ := hits[0].(map[string]any)
	if _, ok := first["_federation"].(map[string]any); !ok {
		t.Errorf("hit without _federation: %v", first)
	}

	checkMeiliClient(t, "http://"+harness.Addr(port))

	shards[1].SetFault(t, harness.Fault{DelayMS: 3000})
	defer shards[1].ClearFault(t)
	h, m, took := search()
	errs, _ := m["remoteErrors"].(map[string]any)
	e, _ := errs[shards[1].Name].(map[string]any)
	if h.Get("Federate-Complete") != "false" || e["code"] != "shard_timeout" {
		t.Fatalf("slow shard: Federate-Complete %q, remoteErrors %v", h.Get("Federate-Complete"), m["remoteErrors"])
	}
	if took > 1500*time.Millisecond {
		t.Errorf("answer took %v with a 500ms shard timeout", took)
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// checkEngineShard runs the shared ES and Meilisearch checks on a shard
// serving corpus1000.
func checkEngineShard(t *testing.T, s *harness.Shard) {
	t.Helper()
	st := s.Stats(t)
	if st.Docs != 1000 {
		t.Fatalf("%s holds %d docs, want 1000", s.Name, st.Docs)
	}

	a := esSearch(t, s.URL+"/docs/_search", textQuery("library development files", 10))
	if a.Hits.Total.Value == 0 || len(a.Hits.Hits) != 10 {
		t.Fatalf("query found %d (%d returned), want some and a full page", a.Hits.Total.Value, len(a.Hits.Hits))
	}
	for i, h := range a.Hits.Hits {
		if h.Index != "docs" || h.ID == "" || len(h.Source) == 0 {
			t.Fatalf("hit %d incomplete: %+v", i, h)
		}
		if i > 0 && h.Score > a.Hits.Hits[i-1].Score {
			t.Fatalf("hits not by descending score at %d", i)
		}
	}
	if a.Hits.MaxScore == nil || *a.Hits.MaxScore != a.Hits.Hits[0].Score {
		t.Errorf("max_score %v, first score %v", a.Hits.MaxScore, a.Hits.Hits[0].Score)
	}

	// Pages: from/size windows tile the first page.
	p2 := esSearch(t, s.URL+"/docs/_search", merge(textQuery("library development files", 5), "from", 5))
	if fmt.Sprint(ids(p2)) != fmt.Sprint(ids(a)[5:]) {
		t.Errorf("page 2 %v, want %v", ids(p2), ids(a)[5:])
	}

	// Filter and facet: bool.filter keeps only the section and changes no score.
	section := "libdevel"
	q := map[string]any{"size": 10, "_source": []string{"section"},
		"query": map[string]any{"bool": map[string]any{
			"must":   map[string]any{"multi_match": map[string]any{"query": "library development files", "fields": []string{"title^2", "body"}}},
			"filter": []any{map[string]any{"term": map[string]any{"section": section}}}}},
		"aggs": map[string]any{"sections": map[string]any{"terms": map[string]any{"field": "section", "size": 5}}},
	}
	f := esSearch(t, s.URL+"/docs/_search", q)
	if f.Hits.Total.Value == 0 || f.Hits.Total.Value > a.Hits.Total.Value {
		t.Fatalf("filtered total %d, unfiltered %d", f.Hits.Total.Value, a.Hits.Total.Value)
	}
	for _, h := range f.Hits.Hits {
		var src map[string]any
		json.Unmarshal(h.Source, &src)
		if src["section"] != section || len(src) != 1 {
			t.Fatalf("filtered hit %s has _source %s", h.ID, h.Source)
		}
	}
	if b := f.Aggregations["sections"].Buckets; len(b) != 1 || b[0].Key != section || b[0].DocCount != f.Hits.Total.Value {
		t.Errorf("facet buckets %+v, want only %s with %d", b, section, f.Hits.Total.Value)
	}

	// Meilisearch route: same engine, Meilisearch shape.
	code, b := s.Do(t, http.MethodPost, "/indexes/docs/search", map[string]any{
		"q": "library development files", "limit": 3, "showRankingScore": true, "facets": []string{"section"}})
	var m struct {
		Hits []map[string]any `json:"hits"`
		Est  *int             `json:"estimatedTotalHits"`
		Dist map[string]map[string]int
		PT   *int `json:"processingTimeMs"`
	}
	if code != 200 || json.Unmarshal(b, &m) != nil || m.Est == nil || m.PT == nil || len(m.Hits) != 3 {
		t.Fatalf("Meilisearch search: %d %.300s", code, b)
	}
	if _, ok := m.Hits[0]["_rankingScore"].(float64); !ok || m.Hits[0]["id"] == nil {
		t.Errorf("Meilisearch hit lacks _rankingScore or id: %v", m.Hits[0])
	}
	json.Unmarshal(b, &struct {
		Dist *map[string]map[string]int `json:"facetDistribution"`
	}{&m.Dist})
	if len(m.Dist["section"]) == 0 {
		t.Errorf("no facetDistribution: %.300s", b)
	}

	// Errors in each dialect's shape.
	code, b = s.Do(t, http.MethodPost, "/nope/_search", textQuery("x", 1))
	if code != 404 || !json.Valid(b) {
		t.Errorf("unknown index: %d %s", code, b)
	}
	code, b = s.Do(t, http.MethodPost, "/indexes/nope/search", map[string]any{"q": "x"})
	if code != 404 || !json.Valid(b) {
		t.Errorf("unknown Meilisearch index: %d %s", code, b)
	}
}

// esSearch POSTs an Elasticsearch search to url and decodes the answer.
func esSearch(t *testing.T, url string, body any) esAnswer {
	t.Helper()
	code, b := harness.Do(t, http.MethodPost, url, body)
	return decodeES(t, code, b)
}

func merge(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

// checkLoading loads documents into an empty shard through every loading
// route.
func checkLoading(t *testing.T, s *harness.Shard) {
	t.Helper()
	bulk := `{"index":{"_index":"docs","_id":"b1"}}
{"id":"b1","title":"bulk one","body":"first","section":"x"}
{"create":{}}
{"id":"b2","title":"bulk two","body":"second","section":"x"}
`
	if code, b := s.Do(t, http.MethodPost, "/_bulk", bulk); code != 200 {
		t.Fatalf("_bulk: %d %s", code, b)
	}
	if code, b := s.Do(t, http.MethodPut, "/"+s.Index+"/_doc/d1", `{"id":"d1","title":"put doc","body":"third","section":"y"}`); code != 201 {
		t.Fatalf("_doc: %d %s", code, b)
	}
	if code, b := s.Do(t, http.MethodPost, "/indexes/"+s.Index+"/documents", `[{"id":"m1","title":"meili doc","body":"fourth","section":"y"}]`); code != 202 {
		t.Fatalf("documents: %d %s", code, b)
	}
	if st := s.Stats(t); st.Docs != 4 {
		t.Fatalf("%d documents after loading 4", st.Docs)
	}
	a := esSearch(t, s.URL+"/"+s.Index+"/_search", map[string]any{"query": map[string]any{"match": map[string]any{"title": "bulk"}}})
	if fmt.Sprint(ids(a)) != "[b1 b2]" {
		t.Errorf("search after bulk load: %v", ids(a))
	}
}

func TestESShard(t *testing.T) {
	harness.Heavy(t)
	d := corpus1000(t)
	bm25 := harness.StartESShard(t, harness.ShardOptions{Name: "bm25", Docs: d})
	tfidf := harness.StartESShard(t, harness.ShardOptions{Name: "tfidf", Docs: d, Scoring: "tfidf"})
	checkEngineShard(t, bm25)
	checkEngineShard(t, tfidf)
	checkLoading(t, harness.StartESShard(t, harness.ShardOptions{Name: "empty"}))

	a := esSearch(t, bm25.URL+"/docs/_search", textQuery("network server", 5))
	b := esSearch(t, tfidf.URL+"/docs/_search", textQuery("network server", 5))
	if a.Hits.Hits[0].Score == b.Hits.Hits[0].Score {
		t.Errorf("BM25 and TF-IDF gave the same top score %v: is -scoring ignored?", a.Hits.Hits[0].Score)
	}
}

func TestPGShard(t *testing.T) {
	harness.Heavy(t)
	d := corpus1000(t)
	pg := harness.StartPostgres(t)
	s := harness.StartPGShard(t, pg, harness.ShardOptions{Docs: d})
	checkEngineShard(t, s)
	// A second shard on the same cluster: its own table, named after its index.
	checkLoading(t, harness.StartPGShard(t, pg, harness.ShardOptions{Name: "empty", Index: "loading"}))
	a := esSearch(t, s.URL+"/docs/_search", textQuery("network server", 5))
	if top := a.Hits.Hits[0].Score; top <= 0 || top > 1.5 {
		t.Errorf("ts_rank top score %v, want in (0, 1.5]", top)
	}
}

func TestGroonga(t *testing.T) {
	harness.Heavy(t)
	d := corpus1000(t)
	g := harness.StartGroonga(t)
	ctx := t.Context()
	if err := g.Client.CreateDocs(ctx, "Docs"); err != nil {
		t.Fatal(err)
	}
	n, err := g.Client.Load(ctx, "Docs", d)
	if err != nil || n != len(d) {
		t.Fatalf("loaded %d of %d: %v", n, len(d), err)
	}
	res, err := g.Client.Select(ctx, "Docs", "library OR development OR files", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == 0 || len(res.Hits) != 10 || res.Hits[0].Score < res.Hits[9].Score || res.Hits[0].Score < 1 {
		t.Fatalf("select: total %d, hits %+v", res.Total, res.Hits)
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// Searchkit's API (@searchkit/api, the Node half of Searchkit) turns
// InstantSearch requests into Elasticsearch _msearch bodies: a bool of
// multi_match (fuzzy, bool_prefix, phrase) over one text, refinements as
// should-of-terms filters, terms aggregations, highlight and a sort. Here it
// talks to an Elasticsearch route over a mixed federation: one esshard asked
// in Elasticsearch, one asked in Meilisearch (each half of the corpus).

const searchkitQuery = "network server"

type searchkitFixture struct {
	base      string
	es, meili *harness.Shard
	inES      map[string]bool // ids of the Elasticsearch shard's documents
	dir       string
}

// searchkitResult is the part of an InstantSearch result the tests read.
type searchkitResult struct {
	Hits []struct {
		ObjectID  string `json:"objectID"`
		Section   string `json:"section"`
		Title     string `json:"title"`
		Highlight map[string]struct {
			Value string `json:"value"`
		} `json:"_highlightResult"`
	} `json:"hits"`
	NbHits int                       `json:"nbHits"`
	Facets map[string]map[string]int `json:"facets"`
}

// searchkitNode installs @searchkit/api beside searchkit.mjs (npm ci, once).
func searchkitNode(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("node")
	harness.Require(t, err == nil, "node is not installed")
	dir, err := filepath.Abs("searchkit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@searchkit", "api")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		harness.Require(t, err == nil, "npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}

func startSearchkit(t *testing.T) *searchkitFixture {
	t.Helper()
	f := &searchkitFixture{dir: searchkitNode(t), inES: map[string]bool{}}
	parts := corpus.SplitHash(corpus1000(t), 2)
	for _, d := range parts[0] {
		f.inES[d.ID] = true
	}
	f.es = harness.StartESShard(t, harness.ShardOptions{Name: "es", Docs: parts[0]})
	f.meili = harness.StartESShard(t, harness.ShardOptions{Name: "meili", Docs: parts[1]})
	port := harness.FreePort(t)
	f.base = "http://" + harness.Addr(port)
	site := fmt.Sprintf(`http://%s {
	@es path /_msearch /docs/_search /docs/_msearch
	federate @es {
		dialect elasticsearch
		merge rrf
		timeout 5s
		shard es %s {
			dialect elasticsearch
			index docs
		}
		shard meili %s {
			dialect meilisearch
			index docs
			fail_duration 30s
		}
	}
}
`, harness.Addr(port), f.es.Addr, f.meili.Addr)
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: federateBin(t), Sites: site})
	harness.WaitFor(t, c.Proc, "site listening", 10*time.Second, harness.HTTPReady(f.base+"/"))
	return f
}

// search runs InstantSearch requests through Searchkit's API.
func (f *searchkitFixture) search(t *testing.T, requests ...map[string]any) []searchkitResult {
	t.Helper()
	arg, _ := json.Marshal(requests)
	cmd := exec.Command("node", "searchkit.mjs", string(arg))
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "FEDERATE_URL="+f.base)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("searchkit: %v: %s %s", err, out, stderr)
	}
	var res struct {
		Results []searchkitResult `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Results) != len(requests) {
		t.Fatalf("searchkit answer %.500s: %v", out, err)
	}
	return res.Results
}

func skRequest(index, query string, params map[string]any) map[string]any {
	p := map[string]any{"query": query, "facets": []string{"section", "tags"}, "hitsPerPage": 10, "page": 0}
	for k, v := range params {
		p[k] = v
	}
	return map[string]any{"indexName": index, "params": p}
}

func (r searchkitResult) ids() []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.ObjectID)
	}
	return out
}

// TestSearchkitMixedFederation: Searchkit's text search with facets over an
// Elasticsearch and a Meilisearch shard returns hits of both with their ids
// and highlighted titles and facet counts summed over both; a refinement
// filters both shards (and its count is the facet's); a sort by section is
// an exact merge, page after page; pages tile; with the Meilisearch shard
// stopped the search still answers with the other shard's hits.
func TestSearchkitMixedFederation(t *testing.T) {
	harness.Heavy(t)
	f := startSearchkit(t)

	first := f.search(t, skRequest("docs", searchkitQuery, nil))[0]
	t.Run("text-facets-ids-highlight", func(t *testing.T) {
		if len(first.Hits) != 10 {
			t.Fatalf("%d hits, want 10", len(first.Hits))
		}
		fromES, fromMeili, marked := 0, 0, map[bool]int{}
		for _, h := range first.Hits {
			if h.ObjectID == "" {
				t.Fatalf("a hit has no objectID: %+v", h)
			}
			es := f.inES[h.ObjectID]
			if es {
				fromES++
			} else {
				fromMeili++
			}
			if strings.Contains(h.Highlight["title"].Value, "<") {
				marked[es]++
			}
		}
		if fromES == 0 || fromMeili == 0 {
			t.Errorf("hits from es %d, from meili %d: want both shards", fromES, fromMeili)
		}
		if marked[true] == 0 || marked[false] == 0 {
			t.Errorf("highlighted titles: es %d, meili %d; want some from both", marked[true], marked[false])
		}
		if len(first.Facets["section"]) == 0 {
			t.Fatalf("no section facet: %+v", first.Facets)
		}
	})

	t.Run("refinement", func(t *testing.T) {
		top, n := "", 0
		for v, c := range first.Facets["section"] {
			if c > n || c == n && v < top {
				top, n = v, c
			}
		}
		r := f.search(t, skRequest("docs", searchkitQuery, map[string]any{"facetFilters": [][]string{{"section:" + top}}}))[0]
		if r.NbHits != n {
			t.Errorf("refined to section %s: nbHits %d, the facet said %d", top, r.NbHits, n)
		}
		for _, h := range r.Hits {
			if h.Section != top {
				t.Errorf("refinement section:%s let through %s (%s)", top, h.ObjectID, h.Section)
			}
		}
	})

	t.Run("sort-and-pages", func(t *testing.T) {
		whole := f.search(t, skRequest("docs_section_asc", "", map[string]any{"hitsPerPage": 30}))[0]
		p0 := f.search(t, skRequest("docs_section_asc", "", map[string]any{"hitsPerPage": 15}))[0]
		p1 := f.search(t, skRequest("docs_section_asc", "", map[string]any{"hitsPerPage": 15, "page": 1}))[0]
		sections := func(r searchkitResult) []string {
			var out []string
			for _, h := range r.Hits {
				out = append(out, h.Section)
			}
			return out
		}
		if !slices.IsSorted(sections(whole)) || len(whole.Hits) != 30 {
			t.Fatalf("sorted by section: %v", sections(whole))
		}
		es := 0
		for _, id := range whole.ids() {
			if f.inES[id] {
				es++
			}
		}
		if es == 0 || es == 30 {
			t.Errorf("%d of 30 sorted hits from es: want both shards", es)
		}
		if got := append(p0.ids(), p1.ids()...); !slices.Equal(got, whole.ids()) {
			t.Errorf("pages 0+1 of 15 %v\n differ from the first 30 %v", got, whole.ids())
		}
		t0 := f.search(t, skRequest("docs", searchkitQuery, map[string]any{"hitsPerPage": 5}))[0]
		t1 := f.search(t, skRequest("docs", searchkitQuery, map[string]any{"hitsPerPage": 5, "page": 1}))[0]
		if got := append(t0.ids(), t1.ids()...); !slices.Equal(got, first.ids()) {
			t.Errorf("relevance pages 0+1 of 5 %v differ from the first 10 %v", got, first.ids())
		}
	})

	t.Run("stopped-shard", func(t *testing.T) {
		if err := f.meili.Proc.Stop(); err != nil {
			t.Logf("meili shard stopped: %v", err)
		}
		r := f.search(t, skRequest("docs", searchkitQuery, nil))[0]
		if len(r.Hits) == 0 {
			t.Fatal("no hits with one shard stopped")
		}
		for _, h := range r.Hits {
			if !f.inES[h.ObjectID] {
				t.Errorf("hit %s is not the es shard's", h.ObjectID)
			}
		}
	})
}

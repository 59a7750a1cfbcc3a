package caddyfederate

import (
	"strings"
	"testing"
)

// TestTypesenseMultiSearch: each search of a multi_search is federated on
// its own, here over Meilisearch shards, and answered in results[] order.
func TestTypesenseMultiSearch(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, ""}, fakeHit{"2", 0.5, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"3", 1, ""})
	a.echoQ, b.echoQ = true, true
	site := "\tfederate {\n\t\tdialect typesense\n" +
		shardLine("a", a, "dialect meilisearch", "index docs") + "\n" +
		shardLine("b", b, "dialect meilisearch", "index docs") + "\n\t}"
	url := startCaddy(t, site)
	resp, out := search(t, url+"/multi_search",
		`{"searches":[{"collection":"docs","q":"first","query_by":"title"},{"collection":"docs","q":"second","query_by":"title"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	results, _ := out["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("results %v", out)
	}
	for i, q := range []string{"first", "second"} {
		hits, _ := results[i].(map[string]any)["hits"].([]any)
		if len(hits) != 3 {
			t.Fatalf("search %d: %d hits, want 3: %v", i, len(hits), results[i])
		}
		for _, h := range hits {
			id, _ := h.(map[string]any)["document"].(map[string]any)["id"].(string)
			if !strings.HasPrefix(id, q+"/") {
				t.Errorf("search %q got hit %q of another search", q, id)
			}
		}
	}
	if n := len(a.requests()); n != 2 {
		t.Errorf("shard a saw %d requests, want one per search", n)
	}
}

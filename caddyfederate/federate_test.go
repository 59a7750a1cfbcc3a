package caddyfederate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// meiliSite is a Meilisearch-dialect route over the given shards; extra
// goes into the federate block.
// The merge is pinned to rrf, which the tests compute by hand; the default,
// auto, is rrf too until it has seen enough answers to test the shards'
// score distributions.
func meiliSite(extra string, shards ...string) string {
	return "\tfederate /indexes/* {\n\t\tdialect meilisearch\n\t\tmerge rrf\n" + extra + "\n" + strings.Join(shards, "\n") + "\n\t}"
}

func shardLine(name string, f *fakeEngine, opts ...string) string {
	return fmt.Sprintf("\t\tshard %s %s {\n%s\n\t\t}", name, f.addr(), strings.Join(opts, "\n"))
}

// TestRRFOrderAndDedupe checks the fused order against reciprocal rank
// fusion computed by hand (k = 60, rank from 1):
//
//	shard a: a1, dup, a3      shard b: b1, b2, dup
//	dup = 1/62 + 1/63 = .03200   a1 = b1 = 1/61 = .01639
//	b2  = 1/62       = .01613   a3 = 1/63      = .01587
//
// a1 and b1 tie on score and best rank; a is listed first, so a1 wins.
// dup appears once, with the body of its best-ranked copy (a's, rank 2).
func TestRRFOrderAndDedupe(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 0.9, "a1"}, fakeHit{"dup", 0.8, "dup from a"}, fakeHit{"a3", 0.7, "a3"})
	b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 9, "b1"}, fakeHit{"b2", 8, "b2"}, fakeHit{"dup", 7, "dup from b"})
	url := startCaddy(t, meiliSite("", shardLine("a", a), shardLine("b", b)))

	resp, out := search(t, url+"/indexes/movies/search", `{"q":"x"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	want := []string{"dup", "a1", "b1", "b2", "a3"}
	if got := hitIDs(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("order: got %v, want %v", got, want)
	}
	first := out["hits"].([]any)[0].(map[string]any)
	if first["title"] != "dup from a" {
		t.Errorf("fused duplicate carries %q, want the best-ranked copy %q", first["title"], "dup from a")
	}
	if got := hitShards(t, out); got[0] != "a" || got[2] != "b" {
		t.Errorf("provenance: %v", got)
	}
	if resp.Header.Get("Federate-Complete") != "true" {
		t.Errorf("Federate-Complete = %q", resp.Header.Get("Federate-Complete"))
	}
	if got := out["estimatedTotalHits"]; got != float64(6) {
		t.Errorf("estimatedTotalHits = %v, want 6 (3 + 3; duplicates are not known for unseen hits)", got)
	}
	for _, f := range []*fakeEngine{a, b} {
		r := f.requests()[0]
		if r.Path != "/indexes/movies/search" || r.Body["showRankingScore"] != true {
			t.Errorf("shard request: path %s, body %v", r.Path, r.Body)
		}
	}
}

// TestWeights: shard b weighs 2, so b1 = 2/61 = .0328, b2 = 2/62 = .0323,
// dup = 1/62 + 2/63 = .0479, a1 = 1/61 = .0164, a3 = 1/63 = .0159.
func TestWeights(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 0.9, ""}, fakeHit{"dup", 0.8, ""}, fakeHit{"a3", 0.7, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 9, ""}, fakeHit{"b2", 8, ""}, fakeHit{"dup", 7, ""})
	url := startCaddy(t, meiliSite("", shardLine("a", a), shardLine("b", b, "weight 2")))
	_, out := search(t, url+"/indexes/movies/search", `{"q":"x"}`)
	want := []string{"dup", "b1", "b2", "a1", "a3"}
	if got := hitIDs(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("order: got %v, want %v", got, want)
	}
}

func TestDedupeOff(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"x", 1, "from a"})
	b := newFakeEngine(t, "meilisearch", fakeHit{"x", 1, "from b"})
	url := startCaddy(t, meiliSite("\t\tdedupe off", shardLine("a", a), shardLine("b", b)))
	_, out := search(t, url+"/indexes/movies/search", `{"q":"x"}`)
	if got := hitShards(t, out); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("with dedupe off both copies stay, got shards %v", got)
	}
}

// TestPagination: each page asks every shard for offset 0, limit
// offset+limit, and consecutive pages neither overlap nor skip.
func TestPagination(t *testing.T) {
	var engines []*fakeEngine
	var shards []string
	for s := 0; s < 3; s++ {
		var hits []fakeHit
		for i := 0; i < 10; i++ {
			hits = append(hits, fakeHit{ID: fmt.Sprintf("s%d-%d", s, i), Score: float64(100 - i)})
		}
		f := newFakeEngine(t, "meilisearch", hits...)
		engines = append(engines, f)
		shards = append(shards, shardLine(fmt.Sprintf("s%d", s), f))
	}
	url := startCaddy(t, meiliSite("", shards...))
	_, all := search(t, url+"/indexes/docs/search", `{"q":"x","limit":30}`)
	full := hitIDs(t, all)
	if len(full) != 30 {
		t.Fatalf("full list has %d hits, want 30", len(full))
	}
	var paged []string
	for page := 0; page < 8; page++ {
		_, out := search(t, url+"/indexes/docs/search", fmt.Sprintf(`{"q":"x","offset":%d,"limit":4}`, page*4))
		paged = append(paged, hitIDs(t, out)...)
		last := engines[0].requests()
		r := last[len(last)-1]
		if intOf(r.Body["offset"], -1) != 0 || intOf(r.Body["limit"], -1) != page*4+4 {
			t.Fatalf("page %d asked the shard offset %v limit %v, want 0 and %d", page, r.Body["offset"], r.Body["limit"], page*4+4)
		}
	}
	if !reflect.DeepEqual(paged, full) {
		t.Fatalf("pages do not tile the full list:\npaged %v\nfull  %v", paged, full)
	}
}

func TestElasticsearchRoute(t *testing.T) {
	a := newFakeEngine(t, "elasticsearch", fakeHit{"a1", 3.5, "a1"}, fakeHit{"dup", 2, "dup a"})
	b := newFakeEngine(t, "elasticsearch", fakeHit{"dup", 12, "dup b"}, fakeHit{"b2", 11, "b2"})
	site := "\tfederate {\n\t\tdialect elasticsearch\n\t\tmerge rrf\n" + shardLine("a", a, "index left") + "\n" + shardLine("b", b, "index right") + "\n\t}"
	url := startCaddy(t, site)
	resp, out := search(t, url+"/logs/_search", `{"query":{"match":{"title":"x"}},"from":0,"size":3}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	hits := out["hits"].(map[string]any)
	// dup = 1/62 + 1/61, a1 = 1/61, b2 = 1/62; size 3 keeps all three.
	var ids []string
	for _, h := range hits["hits"].([]any) {
		ids = append(ids, h.(map[string]any)["_id"].(string))
	}
	if want := []string{"dup", "a1", "b2"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	total := hits["total"].(map[string]any)
	if total["value"] != float64(4) || total["relation"] != "gte" {
		t.Errorf("total %v: 2 + 2 with a duplicate removed is at least 3, at most 4: want value 4, relation gte", total)
	}
	if p := a.requests()[0].Path; p != "/left/_search" {
		t.Errorf("shard a asked at %s, want /left/_search", p)
	}
	sh := out["_shards"].(map[string]any)
	if sh["total"] != float64(2) || sh["successful"] != float64(2) || sh["failed"] != float64(0) {
		t.Errorf("_shards %v", sh)
	}
}

// TestAutoMerge: the default, auto, fuses by RRF until it has tested the
// shards' score distributions, and so does `merge calibrated` until every
// shard has a score history; `merge auto homogeneous` (the operator's word
// that every shard runs the same scorer) sorts by raw score at once.
//
//	a: a1 0.9, a2 0.5     b: b1 0.95, b2 0.1
//	rrf: a1, b1, a2, b2 (rank levels, a first)   raw: b1, a1, a2, b2
func TestAutoMerge(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"a1", 0.9, ""}, fakeHit{"a2", 0.5, ""})
	b := newFakeEngine(t, "meilisearch", fakeHit{"b1", 0.95, ""}, fakeHit{"b2", 0.1, ""})
	for _, tc := range []struct {
		merge string
		want  []string
	}{
		{"", []string{"a1", "b1", "a2", "b2"}},
		{"merge calibrated", []string{"a1", "b1", "a2", "b2"}},
		{"merge auto homogeneous", []string{"b1", "a1", "a2", "b2"}},
	} {
		site := "\tfederate /indexes/* {\n\t\tdialect meilisearch\n\t\t" + tc.merge + "\n" + shardLine("a", a) + "\n" + shardLine("b", b) + "\n\t}"
		url := startCaddy(t, site)
		_, out := search(t, url+"/indexes/x/search", `{"q":"x"}`)
		if got := hitIDs(t, out); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: order %v, want %v", tc.merge, got, tc.want)
		}
	}
}

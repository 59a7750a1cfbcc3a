package caddyfederate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestSortAcrossDialects: a Meilisearch client's sort on price over an
// Elasticsearch and a Meilisearch shard is translated for the Elasticsearch
// shard, passed through to the Meilisearch one, and merged on the price
// (numbers as numbers, missing last), not in relevance order; every hit,
// the Elasticsearch ones included, carries its id, and a _formatted built
// from the Elasticsearch highlight.
func TestSortAcrossDialects(t *testing.T) {
	es := newFakeEngine(t, "elasticsearch")
	es.set(func(f *fakeEngine) {
		f.raw = `{"took":1,"timed_out":false,"hits":{"total":{"value":2,"relation":"eq"},"hits":[` +
			`{"_index":"docs","_id":"a","_score":null,"_source":{"title":"x a","price":90},"highlight":{"title":["<em>x</em> a"]},"sort":[90,1]},` +
			`{"_index":"docs","_id":"c","_score":null,"_source":{"title":"x c","price":9},"sort":[9,1]}]}}`
	})
	ml := newFakeEngine(t, "meilisearch")
	ml.set(func(f *fakeEngine) {
		f.raw = `{"hits":[{"id":"b","title":"x b","price":10,"_formatted":{"id":"b","title":"<em>x</em> b"}},{"id":"d","title":"x d"}],"estimatedTotalHits":2}`
	})
	site := "\tfederate /indexes/* {\n\t\tdialect meilisearch\n" +
		shardLine("es", es, "\t\t\tdialect elasticsearch", "\t\t\tindex docs") + "\n" + shardLine("ml", ml) + "\n\t}"
	url := startCaddy(t, site)
	resp, out := search(t, url+"/indexes/docs/search", `{"q":"x","sort":["price:desc"],"attributesToHighlight":["title"]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	if got, want := hitIDs(t, out), []string{"a", "b", "c", "d"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v (price 90, 10, 9, missing)", got, want)
	}
	first := out["hits"].([]any)[0].(map[string]any)
	if f, _ := first["_formatted"].(map[string]any); f == nil || f["title"] != "<em>x</em> a" {
		t.Errorf("the Elasticsearch hit's _formatted: %v", first["_formatted"])
	}
	esBody := fmt.Sprint(es.requests()[0].Body)
	for _, want := range []string{"sort:[map[price:map[missing:_last order:desc", "highlight:map[fields:map[title:"} {
		if !strings.Contains(esBody, want) {
			t.Errorf("Elasticsearch shard request %s lacks %s", esBody, want)
		}
	}
	if got := fmt.Sprint(ml.requests()[0].Body["sort"]); got != "[price:desc]" {
		t.Errorf("Meilisearch shard got sort %s", got)
	}
}

// TestHybridRefusedForOtherDialects: a hybrid search reaches no shard when
// one shard cannot take it; the 400 names that shard.
func TestHybridRefusedForOtherDialects(t *testing.T) {
	es := newFakeEngine(t, "elasticsearch")
	ml := newFakeEngine(t, "meilisearch")
	site := "\tfederate /indexes/* {\n\t\tdialect meilisearch\n" +
		shardLine("es", es, "\t\t\tdialect elasticsearch", "\t\t\tindex docs") + "\n" + shardLine("ml", ml) + "\n\t}"
	url := startCaddy(t, site)
	resp, out := search(t, url+"/indexes/docs/search", `{"q":"x","hybrid":{"embedder":"default","semanticRatio":0.5}}`)
	msg, _ := out["message"].(string)
	if resp.StatusCode != 400 || !strings.Contains(msg, "es") || !strings.Contains(msg, "hybrid") {
		t.Fatalf("status %d %v: want a 400 naming shard es and hybrid", resp.StatusCode, out)
	}
	if len(es.requests())+len(ml.requests()) != 0 {
		t.Errorf("shards were asked: es %d, ml %d", len(es.requests()), len(ml.requests()))
	}
}

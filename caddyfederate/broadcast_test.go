package caddyfederate

import (
	"net/http"
	"strings"
	"testing"
)

func TestBroadcast(t *testing.T) {
	a := newFakeEngine(t, "meilisearch")
	b := newFakeEngine(t, "meilisearch")
	es := newFakeEngine(t, "elasticsearch")
	site := "\tfederate /indexes/*/settings {\n\t\tdialect meilisearch\n\t\tbroadcast\n" +
		shardLine("a", a) + "\n" + shardLine("b", b) + "\n" + shardLine("es", es, "dialect elasticsearch") + "\n\t}"
	url := startCaddy(t, site)
	put := func() (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodPatch, url+"/indexes/movies/settings?x=1", strings.NewReader(`{"searchableAttributes":["title"]}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, out := search(t, url+"/indexes/movies/settings", `{"searchableAttributes":["title"]}`)
		return resp, out
	}
	resp, out := put()
	if resp.StatusCode != 200 || out["complete"] != true {
		t.Fatalf("status %d, %v", resp.StatusCode, out)
	}
	for _, f := range []*fakeEngine{a, b} {
		r := f.requests()[0]
		if r.Method != http.MethodPatch || r.Path != "/indexes/movies/settings" || r.Body["searchableAttributes"] == nil {
			t.Errorf("shard got %s %s %v, want the client's request unchanged", r.Method, r.Path, r.Body)
		}
	}
	if len(es.requests()) != 0 {
		t.Errorf("a shard of another dialect was sent the request")
	}
	shards := out["shards"].(map[string]any)
	if shards["es"].(map[string]any)["status"] != "skipped" || shards["a"].(map[string]any)["answer"] == nil {
		t.Errorf("shards %v", shards)
	}
	b.set(func(f *fakeEngine) { f.status = 500 })
	resp, out = put()
	if resp.StatusCode != http.StatusBadGateway || out["complete"] != false {
		t.Errorf("one shard failing: status %d, %v", resp.StatusCode, out)
	}
	if st := out["shards"].(map[string]any)["b"].(map[string]any); st["status"] != "error" || st["http_status"] != float64(500) {
		t.Errorf("shard b %v", st)
	}
}

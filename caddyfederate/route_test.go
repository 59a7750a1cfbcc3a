package caddyfederate

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// do sends one request and returns the response and its body.
func do(t testing.TB, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func jsonOf(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, raw)
	}
	return out
}

// at walks decoded JSON by keys and indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// TestNotServed: an endpoint a route does not serve is answered with the
// engine's own not-found or method-not-allowed error, and no shard is
// asked anything.
func TestNotServed(t *testing.T) {
	shard := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, "a"})
	route := func(matcher, dialect string) string {
		return "\tfederate " + matcher + " {\n\t\tdialect " + dialect + "\n" + shardLine("s", shard, "dialect meilisearch", "index docs") + "\n\t}\n"
	}
	base := startCaddy(t, route("/indexes/*", "meilisearch")+route("/es/*", "elasticsearch")+route("/collections/*", "typesense")+
		route("/solr/*", "solr"))
	tests := []struct {
		method, path string
		status       int
		check        func(map[string]any) bool
	}{
		{"DELETE", "/indexes/x/documents", 404, func(m map[string]any) bool { return m["code"] == "not_found" && m["link"] != nil }},
		{"PUT", "/indexes/x/search", 405, func(m map[string]any) bool { return m["code"] == "method_not_allowed" }},
		{"PUT", "/es/x/_doc/1", 400, func(m map[string]any) bool {
			return m["error"] == "no handler found for uri [/es/x/_doc/1] and method [PUT]" && m["status"] == 400.0
		}},
		{"DELETE", "/es/x/_search", 405, func(m map[string]any) bool {
			s, _ := m["error"].(string)
			return strings.HasPrefix(s, "Incorrect HTTP method for uri [/es/x/_search] and method [DELETE]") && m["status"] == 405.0
		}},
		{"GET", "/collections/x", 404, func(m map[string]any) bool { return m["message"] == "Not Found" }},
		{"POST", "/collections/x/documents", 404, func(m map[string]any) bool { return m["message"] == "Not Found" }},
		{"GET", "/solr/c/update", 404, func(m map[string]any) bool { return at(m, "error", "code") == 404.0 }},
	}
	for _, tt := range tests {
		resp, raw := do(t, tt.method, base+tt.path, `{"q":"x"}`, "Content-Type", "application/json")
		if resp.StatusCode != tt.status || !tt.check(jsonOf(t, raw)) {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, raw)
		}
	}
	if n := len(shard.requests()); n != 0 {
		t.Errorf("the shard saw %d requests, want none", n)
	}
}

// TestESEndpoints: GET / (cluster info, product header, compatible-with
// media type), _count and _msearch over two shards, one of them failing:
// every answer is partial, and an msearch item that cannot run is an error
// in its place while the others answer.
func TestESEndpoints(t *testing.T) {
	a := newFakeEngine(t, "elasticsearch", fakeHit{"1", 2, "a"}, fakeHit{"2", 1, "b"})
	b := newFakeEngine(t, "elasticsearch")
	b.status = http.StatusInternalServerError
	base := startCaddy(t, "\tfederate {\n\t\tdialect elasticsearch\n"+shardLine("a", a, "index docs")+"\n"+shardLine("b", b, "index docs")+"\n\t}")

	resp, raw := do(t, "GET", base+"/", "")
	info := jsonOf(t, raw)
	if resp.StatusCode != 200 || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" || at(info, "version", "number") != "8.19.0" ||
		at(info, "tagline") != "You Know, for Search" {
		t.Errorf("GET /: %d %v %s", resp.StatusCode, resp.Header, raw)
	}
	compat := "application/vnd.elasticsearch+json; compatible-with=9"
	answered := "application/vnd.elasticsearch+json;compatible-with=9" // as Elasticsearch writes it
	resp, raw = do(t, "GET", base+"/", "", "Accept", compat)
	if resp.Header.Get("Content-Type") != answered || !strings.HasPrefix(at(jsonOf(t, raw), "version", "number").(string), "9.") {
		t.Errorf("GET / compatible-with=9: %v %s", resp.Header, raw)
	}
	resp, raw = do(t, "HEAD", base+"/", "")
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /: %d", resp.StatusCode)
	}

	resp, raw = do(t, "POST", base+"/docs/_count", `{"query":{"match":{"title":"a"}}}`, "Content-Type", compat)
	count := jsonOf(t, raw)
	if resp.StatusCode != 200 || count["count"] != 2.0 || at(count, "_shards", "failed") != 1.0 || count["hits"] != nil ||
		resp.Header.Get("Content-Type") != answered || resp.Header.Get("Federate-Complete") != "false" {
		t.Errorf("_count: %d %v %s", resp.StatusCode, resp.Header, raw)
	}

	nd := "{}\n{\"query\":{\"match\":{\"title\":\"a\"}},\"size\":1}\n" +
		"{\"index\":\"docs\"}\n{\"aggs\":{\"p\":{\"avg\":{\"field\":\"price\"}}}}\n" +
		"{}\n{\"from\":1,\"size\":1}\n"
	resp, raw = do(t, "POST", base+"/docs/_msearch", nd, "Content-Type", "application/x-ndjson")
	ms := jsonOf(t, raw)
	if resp.StatusCode != 200 || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("_msearch: %d %s", resp.StatusCode, raw)
	}
	if at(ms, "responses", 0, "status") != 200.0 || at(ms, "responses", 0, "hits", "hits", 0, "_id") != "1" ||
		at(ms, "responses", 0, "_shards", "failed") != 1.0 {
		t.Errorf("item 0: %v", at(ms, "responses", 0))
	}
	if at(ms, "responses", 1, "status") != 400.0 || at(ms, "responses", 1, "error", "type") != "illegal_argument_exception" {
		t.Errorf("item 1 (avg aggregation): %v", at(ms, "responses", 1))
	}
	if at(ms, "responses", 2, "status") != 200.0 || at(ms, "responses", 2, "hits", "hits", 0, "_id") != "2" {
		t.Errorf("item 2 (second page): %v", at(ms, "responses", 2))
	}
	resp, raw = do(t, "POST", base+"/_msearch", "{}\nnot json\n")
	if resp.StatusCode != 400 || at(jsonOf(t, raw), "error", "type") != "parsing_exception" {
		t.Errorf("_msearch bad line: %d %s", resp.StatusCode, raw)
	}
}

// TestMeiliMultiSearchEndpoints: /multi-search plain (results[] with
// indexUid) and federated (one list over every query and shard, each hit
// with Meilisearch's _federation members beside the shard's), a failed
// shard in remoteErrors, and the start-up endpoints.
func TestMeiliMultiSearchEndpoints(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, "a"}, fakeHit{"2", 0.5, "b"})
	b := newFakeEngine(t, "meilisearch", fakeHit{"3", 0.9, "c"})
	a.echoQ, b.echoQ = true, true
	base := startCaddy(t, "\tfederate {\n\t\tdialect meilisearch\n"+shardLine("a", a)+"\n"+shardLine("b", b)+"\n\t}")

	resp, raw := do(t, "POST", base+"/multi-search",
		`{"queries":[{"indexUid":"movies","q":"first","limit":2},{"indexUid":"books","q":"second"}]}`)
	out := jsonOf(t, raw)
	if resp.StatusCode != 200 || at(out, "results", 0, "indexUid") != "movies" || at(out, "results", 1, "indexUid") != "books" {
		t.Fatalf("plain: %d %s", resp.StatusCode, raw)
	}
	if n := len(at(out, "results", 0, "hits").([]any)); n != 2 || !strings.HasPrefix(at(out, "results", 1, "hits", 0, "id").(string), "second/") {
		t.Errorf("plain hits: %s", raw)
	}

	resp, raw = do(t, "POST", base+"/multi-search",
		`{"federation":{"limit":5},"queries":[{"indexUid":"movies","q":"first"},{"indexUid":"books","q":"second","federationOptions":{"weight":2}}]}`)
	out = jsonOf(t, raw)
	hits, _ := out["hits"].([]any)
	if resp.StatusCode != 200 || len(hits) != 5 || out["results"] != nil || out["limit"] != 5.0 {
		t.Fatalf("federated: %d %s", resp.StatusCode, raw)
	}
	for _, h := range hits {
		fed, _ := at(h, "_federation").(map[string]any)
		id, _ := at(h, "id").(string)
		want := map[string]float64{"first": 0, "second": 1}[strings.Split(id, "/")[0]]
		if fed["queriesPosition"] != want || fed["indexUid"] != []string{"movies", "books"}[int(want)] ||
			fed["weightedRankingScore"] == nil || fed["shard"] == nil {
			t.Errorf("hit %s: _federation %v", id, fed)
		}
	}
	// Weight 2 puts the second query's best hits first.
	if id, _ := at(hits[0], "id").(string); !strings.HasPrefix(id, "second/") {
		t.Errorf("weight ignored: first hit %s", id)
	}

	b.set(func(f *fakeEngine) { f.status = http.StatusInternalServerError })
	resp, raw = do(t, "POST", base+"/multi-search", `{"federation":{},"queries":[{"indexUid":"movies","q":"x"}]}`)
	out = jsonOf(t, raw)
	if resp.StatusCode != 200 || at(out, "remoteErrors", "b", "code") != "shard_error" || resp.Header.Get("Federate-Complete") != "false" {
		t.Errorf("partial federated: %d %s", resp.StatusCode, raw)
	}
	resp, raw = do(t, "POST", base+"/multi-search", `{"federation":{},"queries":[{"indexUid":"movies","limit":3}]}`)
	if resp.StatusCode != 400 || jsonOf(t, raw)["code"] != "invalid_multi_search_query_pagination" {
		t.Errorf("federated query with a limit: %d %s", resp.StatusCode, raw)
	}

	for path, key := range map[string]string{"/version": "pkgVersion", "/health": "status", "/indexes/movies": "uid"} {
		resp, raw := do(t, "GET", base+path, "")
		if resp.StatusCode != 200 || jsonOf(t, raw)[key] == nil {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, raw)
		}
	}
}

// TestTypesenseUnion: multi_search with union answers one list whose hits
// carry the search they came from.
func TestTypesenseUnion(t *testing.T) {
	a := newFakeEngine(t, "meilisearch", fakeHit{"1", 1, "a"}, fakeHit{"2", 0.5, "b"})
	a.echoQ = true
	base := startCaddy(t, "\tfederate {\n\t\tdialect typesense\n"+shardLine("a", a, "dialect meilisearch", "index docs")+"\n\t}")
	resp, raw := do(t, "POST", base+"/multi_search?per_page=3",
		`{"union":true,"searches":[{"collection":"docs","q":"first","query_by":"title"},{"collection":"docs","q":"second","query_by":"title"}]}`)
	out := jsonOf(t, raw)
	hits, _ := out["hits"].([]any)
	if resp.StatusCode != 200 || len(hits) != 3 || out["results"] != nil || at(out, "union_request_params", 1, "q") != "second" {
		t.Fatalf("union: %d %s", resp.StatusCode, raw)
	}
	for _, h := range hits {
		id, _ := at(h, "document", "id").(string)
		want := map[string]float64{"first": 0, "second": 1}[strings.Split(id, "/")[0]]
		if at(h, "search_index") != want {
			t.Errorf("hit %s: search_index %v", id, at(h, "search_index"))
		}
	}
}

package dialect

import (
	"reflect"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/merge"
)

func es(t testing.TB, name string) Dialect {
	d, ok := Lookup(name)
	if !ok {
		t.Fatalf("%s not registered", name)
	}
	return d
}

func TestESDecodeRequest(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		want                       Query // Dialect, Method, Body, Params not compared
		code                       string
	}{
		{name: "match", method: "POST", target: "/movies/_search",
			body: `{"from":5,"size":7,"query":{"match":{"title":"dark knight"}},"_source":["title"],"aggs":{"by_genre":{"terms":{"field":"genre","size":3}}}}`,
			want: Query{Index: "movies", Text: "dark knight", Offset: 5, Limit: 7, HasLimit: true, Fields: []string{"title"}, Facets: []string{"genre"}}},
		{name: "match object", method: "POST", target: "/movies/_search", body: `{"query":{"match":{"title":{"query":"heat","operator":"and"}}}}`,
			want: Query{Index: "movies", Text: "heat"}},
		{name: "multi_match", method: "GET", target: "/a,b/_search", body: `{"query":{"multi_match":{"query":"x","fields":["t","d"]}}}`,
			want: Query{Index: "a,b", Text: "x"}},
		{name: "bool with filters", method: "POST", target: "/_search",
			body: `{"query":{"bool":{"must":{"simple_query_string":{"query":"drive"}},"filter":[{"term":{"genre":"crime"}},{"terms":{"year":[2011,2012]}},{"term":{"lang":{"value":"en"}}}]}}}`,
			want: Query{Text: "drive", Filter: &Filter{And: []Clause{{"genre", []string{"crime"}}, {"year", []string{"2011", "2012"}}, {"lang", []string{"en"}}}}}},
		{name: "match_all", method: "POST", target: "/m/_search", body: `{"query":{"match_all":{}}}`, want: Query{Index: "m"}},
		{name: "range is raw", method: "POST", target: "/m/_search", body: `{"query":{"range":{"year":{"gte":2000}}}}`, want: Query{Index: "m", RawFilter: true}},
		{name: "should of one field is IN", method: "POST", target: "/m/_search", body: `{"query":{"bool":{"should":[{"term":{"a":1}},{"term":{"a":2}}]}}}`,
			want: Query{Index: "m", Filter: &Filter{And: []Clause{{Field: "a", Values: []string{"1", "2"}}}}}},
		{name: "should across fields is raw", method: "POST", target: "/m/_search", body: `{"query":{"bool":{"should":[{"term":{"a":1}},{"term":{"b":1}}]}}}`, want: Query{Index: "m", RawFilter: true}},
		{name: "two texts is raw", method: "POST", target: "/m/_search", body: `{"query":{"bool":{"must":[{"match":{"a":"x"}},{"match":{"b":"y"}}]}}}`, want: Query{Index: "m", RawFilter: true}},
		{name: "url params", method: "GET", target: "/m/_search?q=title:heat&from=2&size=3&explain=true&_source=false",
			body: `{"from":9,"query":{"range":{"x":{"gt":1}}}}`,
			want: Query{Index: "m", Text: "title:heat", Offset: 2, Limit: 3, HasLimit: true, Explain: true, Fields: []string{}}},
		{name: "source includes", method: "POST", target: "/m/_search", body: `{"_source":{"includes":["a","b"],"excludes":["c"]},"explain":true}`,
			want: Query{Index: "m", Fields: []string{"a", "b"}, Explain: true}},
		{name: "source string", method: "POST", target: "/m/_search", body: `{"_source":"a"}`, want: Query{Index: "m", Fields: []string{"a"}}},

		{name: "bad json", method: "POST", target: "/m/_search", body: `{"query":`, code: "parsing_exception"},
		{name: "html", method: "POST", target: "/m/_search", body: `<html>`, code: "parsing_exception"},
		{name: "two query types", method: "POST", target: "/m/_search", body: `{"query":{"match_all":{},"term":{"a":1}}}`, code: "parsing_exception"},
		{name: "query not object", method: "POST", target: "/m/_search", body: `{"query":"x"}`, code: "parsing_exception"},
		{name: "negative from", method: "POST", target: "/m/_search", body: `{"from":-1}`, code: "illegal_argument_exception"},
		{name: "size string", method: "POST", target: "/m/_search", body: `{"size":"ten"}`, code: "illegal_argument_exception"},
		{name: "bad size param", method: "GET", target: "/m/_search?size=x", code: "illegal_argument_exception"},
		{name: "avg agg", method: "POST", target: "/m/_search", body: `{"aggs":{"p":{"avg":{"field":"price"}}}}`, code: "illegal_argument_exception"},
		{name: "sub agg", method: "POST", target: "/m/_search", body: `{"aggs":{"p":{"terms":{"field":"g"},"aggs":{"q":{"terms":{"field":"h"}}}}}}`, code: "illegal_argument_exception"},
		{name: "source number", method: "POST", target: "/m/_search", body: `{"_source":1}`, code: "parsing_exception"},
		{name: "explain string", method: "POST", target: "/m/_search", body: `{"explain":"yes"}`, code: "parsing_exception"},
	}
	d := es(t, "elasticsearch")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := d.DecodeRequest(newReq(tt.method, tt.target), []byte(tt.body))
			if tt.code != "" {
				e := asError(t, err)
				if e.Code != tt.code || e.Status != 400 {
					t.Fatalf("error = %+v, want code %s", e, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *q
			got.Dialect, got.Method, got.Body, got.Params, got.Display = "", "", nil, nil, Display{} // Display: TestDecodeDisplay
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestESBuildRequest(t *testing.T) {
	d := es(t, "elasticsearch")
	target := Target{Shard: "e1", Index: "films", Limit: 30}
	q := &Query{Dialect: "meilisearch", Text: "dark", Filter: &Filter{And: []Clause{{"genre", []string{"drama"}}, {"year", []string{"1", "2"}}}},
		Facets: []string{"genre"}, Fields: []string{"title"}, Offset: 10, Limit: 20}
	r, err := d.BuildRequest(q, target)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, r.Body)
	if r.Method != "POST" || r.Path != "/films/_search" || m["from"] != 0.0 || m["size"] != 30.0 || m["track_total_hits"] != true {
		t.Fatalf("request = %+v %v", r, m)
	}
	if dig(m, "query", "bool", "must", "multi_match", "query") != "dark" ||
		dig(m, "query", "bool", "filter", 0, "term", "genre") != "drama" ||
		!reflect.DeepEqual(dig(m, "query", "bool", "filter", 1, "terms", "year"), []any{"1", "2"}) {
		t.Errorf("query = %v", m["query"])
	}
	if dig(m, "aggs", "genre", "terms", "field") != "genre" || !reflect.DeepEqual(m["_source"], []any{"title"}) {
		t.Errorf("aggs/_source = %v", m)
	}

	r, _ = d.BuildRequest(&Query{Dialect: "federate"}, Target{Shard: "e1", Index: "films", Limit: 5})
	m = decodeJSON(t, r.Body)
	if r.Path != "/films/_search" || dig(m, "query", "match_all") == nil {
		t.Errorf("empty query = %s %v", r.Path, m)
	}
	// No index from the shard or the client: never /_search over every index.
	if _, err := d.BuildRequest(&Query{Dialect: "federate"}, Target{Shard: "e1", Limit: 5}); err == nil || asError(t, err).Status != 400 {
		t.Errorf("no index: %v, want a 400", err)
	}
	if _, err := d.BuildRequest(&Query{Dialect: "meilisearch", RawFilter: true}, target); asError(t, err).Status != 400 || asError(t, err).Code != "unsupported_filter" {
		t.Errorf("raw filter: %v", err)
	}

	// Pass-through from Elasticsearch and OpenSearch clients.
	for _, client := range []string{"elasticsearch", "opensearch"} {
		body := `{"from":20,"size":10,"query":{"range":{"year":{"gte":2000}}},"sort":["_score"],"aggregations":{"g":{"terms":{"field":"genre","size":500}}}}`
		q, err := es(t, client).DecodeRequest(newReq("POST", "/movies/_search"), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.BuildRequest(q, Target{Shard: "e1", Limit: 30})
		if err != nil {
			t.Fatal(err)
		}
		m := decodeJSON(t, r.Body)
		if r.Path != "/movies/_search" || m["from"] != 0.0 || m["size"] != 30.0 || dig(m, "query", "range", "year", "gte") != 2000.0 ||
			dig(m, "sort", 0) != "_score" || dig(m, "aggs", "genre", "terms", "size") != 500.0 || m["aggregations"] != nil {
			t.Errorf("%s pass-through = %s %v", client, r.Path, m)
		}
	}
	q, _ = d.DecodeRequest(newReq("GET", "/movies/_search?q=title:heat"), nil)
	r, _ = d.BuildRequest(q, Target{Shard: "e1", Limit: 3})
	if m := decodeJSON(t, r.Body); dig(m, "query", "query_string", "query") != "title:heat" {
		t.Errorf("q param pass-through = %v", m)
	}
}

func TestESDecodeResponse(t *testing.T) {
	d := es(t, "elasticsearch")
	l, err := d.DecodeResponse(fixture(t, "elasticsearch_response.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Hits) != 3 || l.Total != 20 || l.TotalRelation != "" || !l.FacetsTruncated {
		t.Fatalf("list = %+v", l)
	}
	if h := l.Hits[0]; h.ID != "0" || h.Score != 1.3862942 || !h.Scored || !strings.HasPrefix(string(h.Doc), `{"@timestamp"`) || !strings.HasPrefix(string(h.Native), `{"_index"`) {
		t.Errorf("hit 0 = %+v", h)
	}
	if l.Hits[2].Scored {
		t.Error("null _score counted as a score")
	}
	if l.Facets["genre"]["rock"] != 10 || l.Facets["year"]["1999"] != 2 || l.Facets["year"]["2020-01-01"] != 1 || l.Facets["avg_price"] != nil {
		t.Errorf("facets = %v", l.Facets)
	}
	l, _ = d.DecodeResponse(fixture(t, "elasticsearch_response.json"), "user.id")
	if l.Hits[1].ID != "elkbee" {
		t.Errorf("id by field = %q", l.Hits[1].ID)
	}
	l, err = d.DecodeResponse(fixture(t, "elasticsearch6_response.json"), "")
	if err != nil || l.Total != 2 || len(l.Hits) != 2 {
		t.Errorf("6.x = %+v %v", l, err)
	}
	l, err = es(t, "opensearch").DecodeResponse(fixture(t, "opensearch_response.json"), "")
	if err != nil || l.Total != 2 || l.Hits[1].ID != "tt2" {
		t.Errorf("opensearch = %+v %v", l, err)
	}
	l, err = d.DecodeResponse([]byte(`{"timed_out":true,"hits":{"total":{"value":10000,"relation":"gte"},"hits":[]}}`), "")
	if err != nil || l.TotalRelation != merge.Gte || l.Total != 10000 {
		t.Errorf("gte = %+v %v", l, err)
	}
	for _, bad := range []string{
		``, `null`, `{}`, `{"hits":{}}`, `<html>502</html>`, `{"hits":{"hits":[{"_id":"1"}`, `{"hits":{"hits":[1]}}`,
		`{"hits":{"hits":{}}}`, `{"hits":{"total":"x","hits":[]}}`, `{"error":{"type":"x"},"status":500}`,
	} {
		if _, err := d.DecodeResponse([]byte(bad), ""); err == nil {
			t.Errorf("DecodeResponse(%q) = nil error", bad)
		}
	}
}

func TestESEncodeResponse(t *testing.T) {
	d := es(t, "elasticsearch")
	a, err := d.DecodeResponse(fixture(t, "elasticsearch_response.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	a.Shard = "a"
	b := meiliLists(t)[1] // a Meilisearch shard beside it
	res := sampleResponse(t, a, b)
	q, err := d.DecodeRequest(newReq("POST", "/movies/_search"), []byte(`{"size":10,"aggs":{"by_genre":{"terms":{"field":"genre","size":1}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.EncodeResponse(q, res)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, out)
	if m["timed_out"] != true || dig(m, "_shards", "total") != 4.0 || dig(m, "_shards", "successful") != 3.0 ||
		dig(m, "_shards", "skipped") != 1.0 || dig(m, "_shards", "failed") != 1.0 ||
		dig(m, "_shards", "failures", 0, "index") != "slow" || dig(m, "_shards", "failures", 0, "reason", "type") != "timeout_exception" {
		t.Errorf("_shards = %v", m["_shards"])
	}
	if dig(m, "_clusters", "total") != 4.0 || dig(m, "_clusters", "successful") != 2.0 || dig(m, "_clusters", "partial") != 1.0 ||
		dig(m, "_clusters", "skipped") != 1.0 || dig(m, "_clusters", "running") != 0.0 ||
		dig(m, "_clusters", "details", "slow", "status") != "partial" || dig(m, "_clusters", "details", "slow", "timed_out") != true ||
		dig(m, "_clusters", "details", "a", "status") != "successful" {
		t.Errorf("_clusters = %v", m["_clusters"])
	}
	hits := dig(m, "hits", "hits").([]any)
	if len(hits) != 5 || dig(m, "hits", "total", "relation") == nil || dig(m, "hits", "max_score") != dig(hits, 0, "_score") {
		t.Fatalf("hits = %v", m["hits"])
	}
	for i := range hits {
		if dig(hits, i, "_id") == nil || dig(hits, i, "_source") == nil || dig(hits, i, "_index") == nil || dig(hits, i, "_federation") != nil {
			t.Errorf("hit %d = %v", i, hits[i])
		}
	}
	if dig(hits, 0, "_index") != "my-index-000001" {
		t.Errorf("native hit lost its _index: %v", hits[0])
	}
	var fromMeili map[string]any
	for _, h := range hits {
		if dig(h, "_index") == "b" {
			fromMeili = h.(map[string]any)
		}
	}
	if fromMeili == nil || dig(fromMeili, "_source", "title") == nil {
		t.Errorf("meilisearch hit not wrapped: %v", hits)
	}
	if dig(m, "aggregations", "by_genre", "buckets", 0, "key") != "rock" || len(dig(m, "aggregations", "by_genre", "buckets").([]any)) != 1 ||
		dig(m, "aggregations", "by_genre", "sum_other_doc_count") != 4.0 {
		t.Errorf("aggregations = %v", m["aggregations"])
	}

	q.Explain = true
	out, _ = d.EncodeResponse(q, res)
	m = decodeJSON(t, out)
	if dig(m, "hits", "hits", 0, "_federation", "shard") != "a" || dig(m, "hits", "hits", 0, "_explanation", "details", 0, "description") == nil {
		t.Errorf("explain hit = %v", dig(m, "hits", "hits", 0))
	}
}

func TestESEncodeError(t *testing.T) {
	d := es(t, "elasticsearch")
	for _, tt := range []struct {
		e          Error
		typ, cause string
	}{
		{Error{Status: 400, Code: "parsing_exception", Message: "bad"}, "parsing_exception", "parsing_exception"},
		{Error{Status: 400, Code: "bad_request", Message: "bad"}, "illegal_argument_exception", "illegal_argument_exception"},
		{Error{Status: 503, Code: "shard_unavailable", Message: "quorum"}, "search_phase_execution_exception", "no_shard_available_action_exception"},
		{Error{Status: 504, Code: "shard_timeout", Message: "all timed out"}, "search_phase_execution_exception", "timeout_exception"},
	} {
		m := decodeJSON(t, d.EncodeError(&tt.e))
		if dig(m, "error", "type") != tt.typ || dig(m, "error", "root_cause", 0, "type") != tt.cause ||
			dig(m, "error", "reason") != tt.e.Message || m["status"] != float64(tt.e.Status) {
			t.Errorf("EncodeError(%+v) = %v", tt.e, m)
		}
	}
}

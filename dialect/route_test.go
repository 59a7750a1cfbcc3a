package dialect

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestRoute: each dialect tells its engine's endpoints apart by the path's
// last segments, wherever the route is mounted.
func TestRoute(t *testing.T) {
	tests := []struct {
		dialect, method, path string
		op                    Op
	}{
		{"elasticsearch", "GET", "/", OpInfo},
		{"elasticsearch", "HEAD", "", OpInfo},
		{"elasticsearch", "POST", "/", OpMethodNotAllowed},
		{"elasticsearch", "POST", "/docs/_search", OpSearch},
		{"elasticsearch", "GET", "/es/_search", OpSearch},
		{"elasticsearch", "POST", "/docs/_count", OpCount},
		{"elasticsearch", "POST", "/_msearch", OpMultiSearch},
		{"elasticsearch", "PUT", "/docs/_doc/1", OpNotFound},
		{"elasticsearch", "DELETE", "/docs/_search", OpMethodNotAllowed},
		{"opensearch", "POST", "/a,b/_msearch", OpMultiSearch},
		{"meilisearch", "POST", "/indexes/m/search", OpSearch},
		{"meilisearch", "GET", "/prefix/indexes/m/search", OpSearch},
		{"meilisearch", "POST", "/multi-search", OpMultiSearch},
		{"meilisearch", "GET", "/multi-search", OpMethodNotAllowed},
		{"meilisearch", "GET", "/version", OpInfo},
		{"meilisearch", "GET", "/health", OpInfo},
		{"meilisearch", "GET", "/indexes/m", OpInfo},
		{"meilisearch", "DELETE", "/indexes/m", OpMethodNotAllowed},
		{"meilisearch", "POST", "/indexes/m/documents", OpNotFound},
		{"meilisearch", "GET", "/keys", OpNotFound},
		{"typesense", "GET", "/collections/c/documents/search", OpSearch},
		{"typesense", "POST", "/collections/c/documents/search", OpMethodNotAllowed},
		{"typesense", "POST", "/multi_search", OpMultiSearch},
		{"typesense", "GET", "/health", OpInfo},
		{"typesense", "POST", "/collections/c/documents", OpNotFound},
		{"solr", "GET", "/solr/c/select", OpSearch},
		{"solr", "POST", "/solr/c/query", OpSearch},
		{"solr", "POST", "/solr/c/update", OpNotFound},
		{"groonga", "GET", "/d/select", OpSearch},
		{"groonga", "GET", "/d/status", OpNotFound},
		{"federate", "POST", "/anything", OpSearch},
		{"federate", "DELETE", "/anything", OpMethodNotAllowed},
	}
	for _, tt := range tests {
		d, _ := Lookup(tt.dialect)
		if got := Route(d, tt.method, tt.path).Op; got != tt.op {
			t.Errorf("%s %s %s: op %d, want %d", tt.dialect, tt.method, tt.path, got, tt.op)
		}
	}
}

// TestNotServedShapes: every dialect answers an endpoint it does not serve
// with its engine's error shape and a 404 (Elasticsearch: 400, as it does),
// a wrong method with 405, as valid JSON.
func TestNotServedShapes(t *testing.T) {
	for _, name := range Names() {
		d, _ := Lookup(name)
		for _, e := range []Endpoint{{Op: OpNotFound}, {Op: OpMethodNotAllowed, Allow: []string{"GET", "POST"}}} {
			status, body := NotServed(d, e, "PUT", "/x/y")
			want := 404
			if e.Op == OpMethodNotAllowed {
				want = 405
			} else if name == "elasticsearch" || name == "opensearch" {
				want = 400
			}
			if status != want || !json.Valid(body) {
				t.Errorf("%s %v: %d %s", name, e.Op, status, body)
			}
		}
	}
}

// TestInfo: the endpoints clients call on start answer as their engines do.
func TestInfo(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "application/vnd.elasticsearch+json; compatible-with=8")
	es, _ := Lookup("elasticsearch")
	_, b := Info(es, Route(es, "GET", "/"), r)
	if m := decodeJSON(t, b); dig(m, "version", "number") != "8.19.0" || dig(m, "tagline") != "You Know, for Search" {
		t.Errorf("elasticsearch GET /: %s", b)
	}
	os, _ := Lookup("opensearch")
	_, b = Info(os, Route(os, "GET", "/"), r)
	if m := decodeJSON(t, b); dig(m, "version", "distribution") != "opensearch" {
		t.Errorf("opensearch GET /: %s", b)
	}
	ms, _ := Lookup("meilisearch")
	for path, key := range map[string]string{"/version": "pkgVersion", "/health": "status", "/indexes/movies": "uid"} {
		if _, b := Info(ms, Route(ms, "GET", path), r); decodeJSON(t, b)[key] == nil {
			t.Errorf("meilisearch GET %s: %s", path, b)
		}
	}
	solr, _ := Lookup("solr")
	if status, _ := Info(solr, Endpoint{Op: OpInfo}, r); status != 404 {
		t.Errorf("a dialect without info endpoints answers %d", status)
	}
}

// TestESDecodeMulti: _msearch NDJSON: the path's index is each search's
// default, a header's index wins, a search Elasticsearch would reject is an
// error in its place, a line that is not JSON fails the request.
func TestESDecodeMulti(t *testing.T) {
	es, _ := Lookup("elasticsearch")
	ms := es.(MultiSearcher)
	body := "{}\n{\"size\":3}\n{\"index\":\"other\"}\n{\"aggs\":{\"p\":{\"avg\":{\"field\":\"x\"}}}}\n{\"index\":[\"a\",\"b\"]}\n\n"
	m, err := ms.DecodeMulti(httptest.NewRequest("POST", "/docs/_msearch", nil), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Queries) != 3 || m.Queries[0].Index != "docs" || m.Queries[0].Limit != 3 || m.Queries[1] != nil ||
		m.Errs[1] == nil || m.Errs[1].Status != 400 || m.Queries[2].Index != "a,b" {
		t.Fatalf("decoded %+v %+v", m.Queries, m.Errs)
	}
	for _, bad := range []string{"", "\n", "x\n{}\n", "{}\n[1]\n", "{\"index\":3}\n{}\n"} {
		if _, err := ms.DecodeMulti(httptest.NewRequest("POST", "/_msearch", nil), []byte(bad)); err == nil || errorOf(err).Status != 400 {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

// TestMeiliDecodeMulti: a federated multi-search keeps weights, the
// federation window and facetsByIndex (asked of each query's shards); a
// wrong query fails the request naming it.
func TestMeiliDecodeMulti(t *testing.T) {
	ms := meili(t).(MultiSearcher)
	body := `{"federation":{"offset":1,"limit":4,"facetsByIndex":{"movies":["genre"]}},"queries":[{"indexUid":"movies","q":"a","federationOptions":{"weight":2}},{"indexUid":"books","q":"b"}]}`
	m, err := ms.DecodeMulti(httptest.NewRequest("POST", "/multi-search", nil), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Fused || m.Offset != 1 || m.Limit != 4 || len(m.Weights) != 2 || m.Weights[0] != 2 || m.Weights[1] != 1 ||
		len(m.Queries[0].Facets) != 1 || m.Queries[1].Facets != nil || string(m.Queries[1].Body) != `{"q":"b"}` {
		t.Fatalf("decoded %+v %+v %s", m, m.Queries[0], m.Queries[1].Body)
	}
	if f := decodeJSON(t, m.Queries[0].Body); f["facets"] == nil || f["indexUid"] != nil || f["federationOptions"] != nil {
		t.Errorf("query body %s", m.Queries[0].Body)
	}
	for bad, code := range map[string]string{
		`{"queries":[{"q":"x"}]}`: "missing_index_uid",
		`{"queries":[{"indexUid":"m","federationOptions":{"weight":1}}]}`:                  "invalid_multi_search_federation_options",
		`{"federation":{},"queries":[{"indexUid":"m","page":2}]}`:                          "invalid_multi_search_query_pagination",
		`{"federation":{},"queries":[{"indexUid":"m","facets":["a"]}]}`:                    "invalid_multi_search_query_facets",
		`{"federation":{},"queries":[{"indexUid":"m","federationOptions":{"weight":-1}}]}`: "invalid_multi_search_weight",
		`{"queries":3}`: "invalid_multi_search_queries",
	} {
		_, err := ms.DecodeMulti(httptest.NewRequest("POST", "/multi-search", nil), []byte(bad))
		if err == nil || errorOf(err).Code != code {
			t.Errorf("%s: %v, want %s", bad, err, code)
		}
	}
}

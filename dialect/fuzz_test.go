package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// The fuzz targets feed untrusted bytes (client bodies, shard answers) to the
// decoders and check: no panic; errors from DecodeRequest are *Error; a
// decoded request builds a shard request for every dialect of ours; a decoded
// answer re-encodes as valid JSON in every client dialect of ours.

var fuzzDialects = []string{"meilisearch", "elasticsearch", "opensearch", "federate"}

func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func fuzzRequest(t *testing.T, name, method, target string, body []byte) {
	d, _ := Lookup(name)
	r := httptest.NewRequest(method, target, nil)
	q, err := d.DecodeRequest(r, body)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error %v is %T, not *Error", err, err)
		}
		return
	}
	for _, s := range fuzzDialects {
		sd, _ := Lookup(s)
		req, err := BuildShardRequest(sd, q, Target{Shard: "s", Index: "i", Limit: 10})
		if err != nil {
			if _, ok := err.(*Error); !ok && !sameFamily(q.Dialect, s) {
				t.Fatalf("BuildRequest(%s) error %v is %T", s, err, err)
			}
			continue
		}
		if len(req.Body) > 0 && !json.Valid(req.Body) {
			t.Fatalf("BuildRequest(%s) body is not JSON: %s", s, req.Body)
		}
	}
	out, err := d.EncodeResponse(q, &Response{Shards: []ShardReport{{Name: "s", Status: StatusOK}}})
	if err != nil || !json.Valid(out) {
		t.Fatalf("EncodeResponse: %v %s", err, out)
	}
}

func fuzzResponse(t *testing.T, name string, body []byte) {
	d, _ := Lookup(name)
	for _, idField := range []string{"", "user.id"} {
		l, err := d.DecodeResponse(body, idField)
		if err != nil {
			return
		}
		// Decoders validate as they read: an answer they accept is JSON.
		if !json.Valid(body) {
			t.Fatalf("%s accepted an answer that is not valid JSON: %q", name, body)
		}
		l.Shard = "s"
		res := &Response{Result: merge.Merge([]merge.List{l}, 0, merge.Options{Dedupe: true}), Took: time.Millisecond,
			Shards: []ShardReport{{Name: "s", Status: StatusOK}, {Name: "t", Status: StatusInvalid}}}
		for _, c := range fuzzDialects {
			cd, _ := Lookup(c)
			q := &Query{Dialect: c, Explain: true, Facets: []string{"genre"}}
			out, err := cd.EncodeResponse(q, res)
			if err != nil || !json.Valid(out) {
				t.Fatalf("EncodeResponse(%s) of a %s answer: %v\n%s\nfrom %q", c, name, err, out, body)
			}
		}
		// Sorted and highlighted: the sort keys, ids and highlights read
		// from the answer are written in every client dialect's shape.
		sq := &Query{Sort: []merge.Order{{Field: "year", Desc: true}, {Field: "title"}}, Highlight: &Highlight{Fields: []string{"*"}, PreTag: "<em>", PostTag: "</em>"}}
		Annotate(d, sq, &l, idField)
		res.Result = merge.Sorted([]merge.List{l}, 0, sq.Sort, merge.Options{Dedupe: true})
		for _, c := range append(fuzzDialects, "solr", "typesense") {
			cd, _ := Lookup(c)
			q := *sq
			q.Dialect = c
			out, err := cd.EncodeResponse(&q, res)
			if err != nil || !json.Valid(out) {
				t.Fatalf("EncodeResponse(%s) of a sorted, highlighted %s answer: %v\n%s\nfrom %q", c, name, err, out, body)
			}
		}
	}
}

func FuzzMeiliDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"q":"batman","offset":5,"limit":7,"facets":["genre"],"attributesToRetrieve":["title"],"showRankingScore":true}`,
		`{"filter":"genre = \"horror\" AND year IN [1,2]"}`,
		`{"filter":[["a = 1","a = 2"],"b = 3"]}`,
		`{"filter":"(a = 1 OR b != 2) AND NOT c EXISTS","page":2,"hitsPerPage":3}`,
		`{"filter":"a = 'x\\'y'"}`,
		`{"q":"x","sort":["price:desc","title:asc"],"attributesToHighlight":["title"],"attributesToCrop":["body:5"],"highlightPreTag":"<b>"}`,
		`{"q":"x","hybrid":{"embedder":"e"},"vector":[1],"sort":["_geoPoint(1,2):asc"]}`,
		`{"q":`, `<html>`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRequest(t, "meilisearch", http.MethodPost, "/indexes/movies/search", body)
	})
}

func FuzzMeiliDecodeResponse(f *testing.F) {
	addFixtures(f, "meilisearch_response.json", "meilisearch_response_paged.json")
	f.Add([]byte(`{"hits":[{"id":"a\"b","_rankingScore":1e400}],"estimatedTotalHits":-1}`))
	f.Add([]byte(`{"hits":[{}],"facetDistribution":{"":{"":1}}}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzResponse(t, "meilisearch", body) })
}

func FuzzESDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"from":5,"size":7,"query":{"match":{"title":"dark knight"}},"_source":["title"],"aggs":{"g":{"terms":{"field":"genre","size":3}}}}`,
		`{"query":{"bool":{"must":{"simple_query_string":{"query":"drive"}},"filter":[{"term":{"genre":"crime"}},{"terms":{"year":[2011,2012]}}]}}}`,
		`{"query":{"range":{"year":{"gte":2000}}},"explain":true,"_source":{"includes":["a"]}}`,
		`{"query":{"bool":{"filter":{"bool":{"filter":{"term":{"a":{"value":1}}}}}}}}`,
		`{"query":`, `<html>`, `{"aggs":{"p":{"avg":{"field":"x"}}}}`,
		`{"sort":[{"price":{"order":"desc","missing":"_last"}},"title","_score"],"highlight":{"fields":[{"title":{"number_of_fragments":0}},{"body":{}}],"pre_tags":["<b>"]}}`,
		`{"query":{"bool":{"should":[{"multi_match":{"query":"a"}},{"multi_match":{"query":"a","type":"bool_prefix"}}]}},"post_filter":{"bool":{"should":[{"term":{"s":"x"}}]}},"knn":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRequest(t, "elasticsearch", http.MethodPost, "/movies/_search", body)
	})
}

func FuzzESDecodeResponse(f *testing.F) {
	addFixtures(f, "elasticsearch_response.json", "elasticsearch6_response.json", "opensearch_response.json")
	f.Add([]byte(`{"hits":{"total":{"value":1,"relation":"gte"},"hits":[{"_index":"i","_id":"1","_score":null}]},"aggregations":{"a":{"buckets":[{"key":true,"doc_count":1}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzResponse(t, "elasticsearch", body) })
}

func FuzzFederateDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"q":"heat","offset":1,"limit":5,"filter":{"year":[1995,"1996"],"genre":"crime"},"facets":["genre"],"fields":["t"],"explain":true}`,
		`{}`, `{"q":`, `{"filter":{"a":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRequest(t, "federate", http.MethodPost, "/search", body)
	})
}

func FuzzFederateDecodeResponse(f *testing.F) {
	addFixtures(f, "federate_response.json")
	f.Add([]byte(`{"hits":[{"id":null,"score":"x","doc":[]}],"complete":false}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzResponse(t, "federate", body) })
}

// The walkers run on validated JSON in production; fuzz them on anything.
func FuzzWalkers(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c\"}"}],"d":{"e":true},"f":"g"}`))
	f.Add([]byte(`{"a.b":1,"a":{"b":2}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = eachMember(b, func(string, []byte, int, int) bool { return true })
		_ = eachElement(b, func([]byte) bool { return true })
		lookupPath(b, "a.b")
		out := withoutMembers(b, func(k []byte) bool { return string(k) == "a" })
		if json.Valid(b) && !json.Valid(out) {
			t.Fatalf("withoutMembers broke valid JSON %s -> %s", b, out)
		}
		if json.Valid(b) && isObject(b) {
			if spliced := appendObjectWith(nil, b, field{"k", []byte("1")}); !json.Valid(spliced) {
				t.Fatalf("appendObjectWith broke %s -> %s", b, spliced)
			}
		}
		_ = bytes.TrimSpace(b)
	})
}

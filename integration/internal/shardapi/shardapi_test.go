package shardapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseES(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string // fmt of the interesting fields
	}{
		{``, `all=true text="" from=0 size=10`},
		{`{"from":5,"size":2,"query":{"match":{"title":"vim editor"}}}`, `all=false text="vim editor" from=5 size=2 fields=[{title 1}]`},
		{`{"query":{"match":{"title":{"query":"x"}}}}`, `all=false text="x" from=0 size=10 fields=[{title 1}]`},
		{`{"query":{"multi_match":{"query":"x","fields":["title^2","body"]}}}`, `all=false text="x" from=0 size=10 fields=[{title 2} {body 1}]`},
		{`{"query":{"query_string":{"query":"a AND b"}}}`, `all=false text="a AND b" from=0 size=10 syntax`},
		{`{"query":{"bool":{"must":[{"match":{"body":"x"}}],"filter":[{"term":{"section":"games"}},{"terms":{"tags":["a","b"]}}]}}}`,
			`all=false text="x" from=0 size=10 fields=[{body 1}] filters=[{section [games]} {tags [a b]}]`},
		{`{"query":{"bool":{"must":[{"match":{"body":"x"}},{"term":{"section":"games"}}]}}}`,
			`all=false text="x" from=0 size=10 fields=[{body 1}] filters=[{section [games]}]`},
		{`{"query":{"bool":{"filter":{"term":{"section":{"value":"net"}}}}}}`, `all=true text="" from=0 size=10 filters=[{section [net]}]`},
		{`{"_source":false,"query":{"match_all":{}}}`, `all=true text="" from=0 size=10 source=[]`},
		{`{"_source":{"includes":["id"]},"aggs":{"s":{"terms":{"field":"section","size":3}}}}`, `all=true text="" from=0 size=10 source=[id] facets=[{s section 3}]`},
	} {
		q, err := ParseES([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if got := describe(q); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.body, got, tc.want)
		}
	}
	for _, bad := range []string{`{`, `{"size":-1}`, `{"query":{"fuzzy":{}}}`, `{"query":{"match":{"a":"x"},"term":{"b":"y"}}}`,
		`{"aggs":{"a":{"avg":{"field":"x"}}}}`, `{"query":{"bool":{"must":[{"match":{"a":"x"}},{"match":{"b":"y"}}]}}}`} {
		if _, err := ParseES([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func describe(q *Query) string {
	s := fmt.Sprintf("all=%v text=%q from=%d size=%d", q.MatchAll, q.Text, q.From, q.Size)
	if q.Fields != nil {
		s += fmt.Sprintf(" fields=%v", q.Fields)
	}
	if q.Syntax {
		s += " syntax"
	}
	if q.Filters != nil {
		s += fmt.Sprintf(" filters=%v", q.Filters)
	}
	if q.Source != nil {
		s += fmt.Sprintf(" source=%v", q.Source)
	}
	if q.Facets != nil {
		s += fmt.Sprintf(" facets=%v", q.Facets)
	}
	return s
}

func TestParseMeili(t *testing.T) {
	q, p, err := ParseMeili([]byte(`{"q":"vim","offset":3,"limit":4,"filter":"section = editors AND tags IN [a, 'b']","facets":["section"],"showRankingScore":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(q); got != `all=false text="vim" from=3 size=4 filters=[{section [editors]} {tags [a b]}] facets=[{section section 100}]` {
		t.Errorf("got %s", got)
	}
	if !p.ShowRankingScore || p.Paged {
		t.Errorf("params %+v", p)
	}
	q, p, err = ParseMeili([]byte(`{"page":2,"hitsPerPage":5,"filter":[["section = a","section = b"],"x = 1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if q.From != 5 || q.Size != 5 || !p.Paged || fmt.Sprint(q.Filters) != "[{section [a b]} {x [1]}]" {
		t.Errorf("paged: %s %+v", describe(q), p)
	}
	for _, bad := range []string{`{"filter":"a > 1"}`, `{"filter":[["a = 1","b = 2"]]}`, `{"limit":-1}`, `[`} {
		if _, _, err := ParseMeili([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestHealthBodies(t *testing.T) {
	h := NewServer("docs", "", "bleve", nil, false, Fault{}).Handler()
	for path, want := range map[string]string{"/health": `{"status":"available"}`, "/": `"name":"bleve"`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) || !json.Valid(rec.Body.Bytes()) {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestEncodeShapes(t *testing.T) {
	q := &Query{Size: 2, Facets: []Facet{{Name: "s", Field: "section", Size: 1}}}
	res := &Result{Total: 3, Hits: []Hit{{ID: "a", Score: 2, Source: json.RawMessage(`{"id":"a","t":1}`)}},
		Facets: map[string]FacetResult{"s": {Buckets: []Bucket{{"games", 2}}, Other: 1}}}
	es := string(EncodeES("docs", q, res, 1))
	want := `{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},` +
		`"hits":{"total":{"value":3,"relation":"eq"},"max_score":2,"hits":[{"_index":"docs","_id":"a","_score":2,"_source":{"id":"a","t":1}}]},` +
		`"aggregations":{"s":{"doc_count_error_upper_bound":0,"sum_other_doc_count":1,"buckets":[{"key":"games","doc_count":2}]}}}`
	if es != want {
		t.Errorf("ES:\n got %s\nwant %s", es, want)
	}
	empty := string(EncodeES("docs", &Query{}, &Result{}, 0))
	if !strings.Contains(empty, `"max_score":null,"hits":[]`) {
		t.Errorf("empty ES answer: %s", empty)
	}
	m := string(EncodeMeili(q, &meiliParams{Query: "x", Limit: 2, ShowRankingScore: true, Facets: []string{"s"}}, res, 1))
	wantM := `{"hits":[{"_rankingScore":0.6666666666666666,"id":"a","t":1}],"estimatedTotalHits":3,"facetDistribution":{"s":{"games":2}},` +
		`"facetStats":{},"limit":2,"offset":0,"processingTimeMs":1,"query":"x"}`
	if m != wantM {
		t.Errorf("Meili:\n got %s\nwant %s", m, wantM)
	}
}

func TestPickSpreadsEvenly(t *testing.T) {
	for _, share := range []float64{0, 0.1, 0.25, 0.5, 1} {
		n := 0
		for i := 1; i <= 100; i++ {
			if pick(i, share) {
				n++
			}
		}
		if n != int(100*share) {
			t.Errorf("share %v: %d of 100", share, n)
		}
	}
}

func TestPadKeepsJSON(t *testing.T) {
	b := pad([]byte(`{"a":1}`), 1000)
	if len(b) < 1000 || !json.Valid(b) {
		t.Errorf("pad: %d bytes, valid %v", len(b), json.Valid(b))
	}
}

package dialect

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/merge"
)

func tsD(t testing.TB) Dialect { t.Helper(); return mustLookup(t, "typesense") }

func TestTypesenseDecodeRequest(t *testing.T) {
	const path = "/collections/companies/documents/search?"
	tests := []struct {
		name    string
		target  string
		want    Query
		wantErr int
	}{
		{name: "basic", target: path + "q=stark&query_by=company_name&page=3&per_page=20&filter_by=" + url.QueryEscape("country:=USA && tier:=[`a b`,c] && n:5") + "&facet_by=country,tier&include_fields=id,company_name",
			want: Query{Index: "companies", Text: "stark", Offset: 40, Limit: 20, HasLimit: true,
				Filter: &Filter{And: []Clause{{"country", []string{"USA"}}, {"tier", []string{"a b", "c"}}, {"n", []string{"5"}}}},
				Facets: []string{"country", "tier"}, Fields: []string{"id", "company_name"}}},
		{name: "wildcard and defaults", target: path + "q=*&query_by=x", want: Query{Index: "companies", Limit: 10}},
		{name: "offset limit", target: path + "q=a&offset=7&limit=3", want: Query{Index: "companies", Text: "a", Offset: 7, Limit: 3, HasLimit: true}},
		{name: "range is raw", target: path + "q=a&filter_by=" + url.QueryEscape("n:>5"), want: Query{Index: "companies", Text: "a", Limit: 10, RawFilter: true}},
		{name: "or is raw", target: path + "q=a&filter_by=" + url.QueryEscape("a:=1 || b:=2"), want: Query{Index: "companies", Text: "a", Limit: 10, RawFilter: true}},
		{name: "token match on string is raw", target: path + "q=a&filter_by=" + url.QueryEscape("name:stark"), want: Query{Index: "companies", Text: "a", Limit: 10, RawFilter: true}},
		{name: "negation is raw", target: path + "q=a&filter_by=" + url.QueryEscape("name:!=x"), want: Query{Index: "companies", Text: "a", Limit: 10, RawFilter: true}},
		{name: "no q", target: path + "query_by=x", wantErr: 400},
		{name: "page zero", target: path + "q=a&page=0", wantErr: 400},
		{name: "per_page too big", target: path + "q=a&per_page=251", wantErr: 422},
		{name: "bad per_page", target: path + "q=a&per_page=x", wantErr: 400},
		{name: "bad offset", target: path + "q=a&offset=-1", wantErr: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tsD(t).DecodeRequest(newReq("GET", tt.target), nil)
			if tt.wantErr != 0 {
				if err == nil || asError(t, err).Status != tt.wantErr {
					t.Fatalf("err = %v, want status %d", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Query{Index: q.Index, Text: q.Text, Offset: q.Offset, Limit: q.Limit, HasLimit: q.HasLimit, Fields: q.Fields,
				Filter: q.Filter, RawFilter: q.RawFilter, Facets: q.Facets}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTypesenseMultiSearch(t *testing.T) {
	d := tsD(t)
	body := `{"searches":[{"collection":"products","q":"shoe","filter_by":"brand:=nike","per_page":5},{"collection":"brands","q":"nike","query_by":"name","page":2}]}`
	m, err := d.(MultiSearcher).DecodeMulti(bodyReq("POST", "/multi_search?query_by=title", "application/json", ""), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	qs := m.Queries
	if len(qs) != 2 || m.Fused {
		t.Fatalf("decoded %+v", m)
	}
	q := qs[0]
	if q.Index != "products" || q.Text != "shoe" || q.Limit != 5 || q.Filter == nil {
		t.Errorf("first search %+v", q)
	}
	if qs[1].Index != "brands" || qs[1].Offset != 10 || url.Values(qs[1].Params).Get("query_by") != "name" || url.Values(qs[0].Params).Get("query_by") != "title" {
		t.Errorf("second search %+v", qs[1])
	}
	// A search passes through as a GET search with the URL's common parameters.
	r, err := d.BuildRequest(q, Target{Shard: "t1", Index: "p2", Limit: 25})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := url.ParseQuery(r.RawQuery)
	want := url.Values{"q": {"shoe"}, "query_by": {"title"}, "filter_by": {"brand:=nike"}, "page": {"1"}, "per_page": {"25"}}
	if r.Path != "/collections/p2/documents/search" || !reflect.DeepEqual(p, want) {
		t.Errorf("got %s %v", r.Path, p)
	}

	l, _ := d.DecodeResponse(fixture(t, "typesense/search.json"), "")
	l.Shard = "a"
	res := sampleResponse(t, l, merge.List{Shard: "b"})
	b, err := d.(MultiSearcher).EncodeMulti(m, []*Response{res, nil}, []*Error{nil, {Status: 404, Message: "Not found."}})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeJSON(t, b)
	if dig(out, "results", 0, "found") != 3.0 || dig(out, "results", 1, "code") != 404.0 || dig(out, "results", 1, "error") != "Not found." {
		t.Errorf("multi answer %s", b)
	}

	// A union answers one list whose hits say which search they came from.
	m, err = d.(MultiSearcher).DecodeMulti(bodyReq("POST", "/multi_search?query_by=title&per_page=3", "application/json", ""),
		[]byte(`{"union":true,"searches":[{"collection":"a","q":"x"},{"collection":"b","q":"y"}]}`))
	if err != nil || !m.Fused || m.Limit != 3 || !m.HasLimit {
		t.Fatalf("union: %+v %v", m, err)
	}
	fused := &Fused{Response: *res, Positions: make([]int, len(res.Result.Hits))}
	fused.Positions[len(fused.Positions)-1] = 1
	b, err = d.(MultiSearcher).EncodeFused(m, fused)
	if err != nil {
		t.Fatal(err)
	}
	out = decodeJSON(t, b)
	last := len(res.Result.Hits) - 1
	if dig(out, "found") != 3.0 || dig(out, "hits", 0, "search_index") != 0.0 || dig(out, "hits", last, "search_index") != 1.0 ||
		dig(out, "union_request_params", 1, "collection") != "b" || dig(out, "results") != nil {
		t.Errorf("union answer %s", b)
	}

	for name, bad := range map[string]string{"bad json": `{"searches":`, "no searches": `{"searches":[]}`, "union no q": `{"union":true,"searches":[{"collection":"a"}]}`} {
		if _, err := d.(MultiSearcher).DecodeMulti(bodyReq("POST", "/multi_search", "application/json", ""), []byte(bad)); err == nil || asError(t, err).Status != 400 {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Outside a union, a wrong search is answered in its place.
	m, err = d.(MultiSearcher).DecodeMulti(bodyReq("POST", "/multi_search", "application/json", ""), []byte(`{"searches":[{"q":"a","x":{}},{"collection":"a"}]}`))
	if err != nil || m.Errs[0] == nil || m.Errs[1] == nil || m.Errs[0].Status != 400 {
		t.Errorf("per-search errors: %+v %v", m, err)
	}
}

func TestTypesenseBuildRequest(t *testing.T) {
	d := tsD(t)
	t.Run("translated", func(t *testing.T) {
		q := &Query{Dialect: "solr", Text: "red fox", Facets: []string{"tag", "lang"}, Fields: []string{"title"},
			Filter: &Filter{And: []Clause{{"lang", []string{"en"}}, {"tag", []string{"a b", "c"}}}}}
		r, err := d.BuildRequest(q, Target{Shard: "t1", Index: "books?query_by=title,body&num_typos=1", Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(r.RawQuery)
		want := url.Values{"q": {"red fox"}, "query_by": {"title,body"}, "num_typos": {"1"}, "filter_by": {"lang:=`en` && tag:=[`a b`,`c`]"},
			"facet_by": {"tag,lang"}, "max_facet_values": {"100"}, "include_fields": {"title,id"}, "page": {"1"}, "per_page": {"40"}}
		if r.Method != "GET" || r.Path != "/collections/books/documents/search" || !reflect.DeepEqual(p, want) {
			t.Errorf("got %s %v\nwant %v", r.Path, p, want)
		}
	})
	t.Run("windows", func(t *testing.T) {
		for _, tt := range []struct {
			offset, limit int
			want          string
		}{
			{0, 15, "page=1&per_page=15"},
			{20, 10, "page=3&per_page=10"},
			{5, 10, "limit=10&offset=5"},
		} {
			r, err := d.BuildRequest(&Query{Dialect: "solr"}, Target{Shard: "t1", Index: "c?query_by=x", Offset: tt.offset, Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.RawQuery, tt.want) {
				t.Errorf("%d/%d: %s", tt.offset, tt.limit, r.RawQuery)
			}
		}
	})
	for name, tt := range map[string]struct {
		q    *Query
		t    Target
		want string
	}{
		"window too big":  {&Query{Dialect: "solr"}, Target{Shard: "t7", Index: "c?query_by=x", Limit: 300}, "t7"},
		"no query_by":     {&Query{Dialect: "solr"}, Target{Shard: "t8", Index: "c", Limit: 10}, "query_by"},
		"raw filter":      {&Query{Dialect: "solr", RawFilter: true}, Target{Shard: "t9", Index: "c?query_by=x", Limit: 10}, "t9"},
		"backtick value":  {&Query{Dialect: "solr", Filter: &Filter{And: []Clause{{"a", []string{"x`y"}}}}}, Target{Shard: "t3", Index: "c?query_by=x", Limit: 10}, "backtick"},
		"no collection":   {&Query{Dialect: "typesense"}, Target{Shard: "t4", Limit: 10}, "t4"},
		"bad field name":  {&Query{Dialect: "solr", Filter: &Filter{And: []Clause{{"a b", []string{"x"}}}}}, Target{Shard: "t5", Index: "c?query_by=x", Limit: 10}, "a b"},
		"bad index query": {&Query{Dialect: "solr"}, Target{Shard: "t6", Index: "c?%zz", Limit: 10}, "t6"},
	} {
		_, err := d.BuildRequest(tt.q, tt.t)
		if err == nil || asError(t, err).Status != 400 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	_, err := d.BuildRequest(&Query{Dialect: "solr", RawFilter: true}, Target{Shard: "t9", Index: "c?query_by=x", Limit: 10})
	if asError(t, err).Code != "unsupported_filter" {
		t.Errorf("code %q", asError(t, err).Code)
	}
}

func TestTypesenseDecodeResponse(t *testing.T) {
	d := tsD(t)
	l, err := d.DecodeResponse(fixture(t, "typesense/search.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 3 || len(l.Hits) != 3 || l.FacetsTruncated {
		t.Fatalf("got %+v", l)
	}
	if h := l.Hits[0]; h.ID != "124" || !h.Scored || h.Score != 578730123365187705 || string(h.Doc) != `{"id": "124", "company_name": "Stark Industries", "num_employees": 5215, "country": "USA"}` {
		t.Errorf("hit 0 = %+v %s", h, h.Doc)
	}
	if h := l.Hits[2]; !h.Scored || h.Score != 1000 {
		t.Errorf("text_match_info.score: %+v", h)
	}
	if want := map[string]map[string]int64{"country": {"USA": 2, "UK": 1}}; !reflect.DeepEqual(l.Facets, want) {
		t.Errorf("facets %v", l.Facets)
	}
	if l, _ := d.DecodeResponse(fixture(t, "typesense/search.json"), "company_name"); l.Hits[1].ID != "Stark Labs" {
		t.Errorf("idField: %+v", l.Hits[1])
	}
	l, err = d.DecodeResponse([]byte(`{"found":9,"search_cutoff":true,"hits":[],"facet_counts":[{"field_name":"f","counts":[{"count":1,"value":2}],"stats":{"total_values":5}}]}`), "")
	if err != nil || l.TotalRelation != merge.Gte || !l.FacetsTruncated || l.Facets["f"]["2"] != 1 {
		t.Errorf("cutoff/truncated: %v %+v", err, l)
	}
	for name, body := range map[string]string{
		"error":           string(fixture(t, "typesense/error.json")),
		"multi":           string(fixture(t, "typesense/multi_search.json")),
		"html":            "<!DOCTYPE html><title>oops</title>",
		"truncated":       `{"found":1,"hits":[{"document":{"id":"1"}`,
		"found type":      `{"found":"1","hits":[]}`,
		"hits type":       `{"found":1,"hits":{}}`,
		"hit not object":  `{"found":1,"hits":[[]]}`,
		"no document":     `{"found":1,"hits":[{"text_match":1}]}`,
		"document string": `{"found":1,"hits":[{"document":"x"}]}`,
		"grouped":         `{"found":1,"grouped_hits":[]}`,
		"facet type":      `{"found":0,"hits":[],"facet_counts":{}}`,
		"empty":           ``,
	} {
		if _, err := d.DecodeResponse([]byte(body), ""); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTypesenseEncodeResponse(t *testing.T) {
	d := tsD(t)
	l1, _ := d.DecodeResponse(fixture(t, "typesense/search.json"), "")
	l1.Shard = "a"
	l2, _ := solrD(t).DecodeResponse(fixture(t, "solr/select.json"), "")
	l2.Shard = "b"
	res := sampleResponse(t, l1, l2)
	q, err := d.DecodeRequest(newReq("GET", "/collections/companies/documents/search?q=stark&query_by=company_name&per_page=5&page=2&facet_by=country"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.EncodeResponse(q, res)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, b)
	if m["found"] != float64(res.Result.Total) || m["page"] != 2.0 || dig(m, "request_params", "per_page") != 5.0 ||
		dig(m, "request_params", "collection_name") != "companies" || dig(m, "request_params", "q") != "stark" {
		t.Errorf("top level %s", b)
	}
	if dig(m, "facet_counts", 0, "field_name") != "country" || dig(m, "facet_counts", 0, "counts", 0, "value") != "USA" {
		t.Errorf("facets %v", m["facet_counts"])
	}
	if dig(m, "federate", "complete") != false || dig(m, "federate", "shards", "slow", "status") != "timeout" || dig(m, "federate", "shards", "a", "reason") != "" {
		t.Errorf("federate %v", m["federate"])
	}
	// typesense-go decodes text_match as an int64: it must be an integer.
	var typed struct {
		Hits []struct {
			Document  map[string]any `json:"document"`
			TextMatch *int64         `json:"text_match"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &typed); err != nil || len(typed.Hits) == 0 || typed.Hits[0].TextMatch == nil || *typed.Hits[0].TextMatch <= 0 {
		t.Errorf("typed decode: %v %s", err, b)
	}
	back, err := d.DecodeResponse(b, "")
	if err != nil || len(back.Hits) != len(res.Result.Hits) || back.Hits[0].ID != res.Result.Hits[0].ID {
		t.Errorf("round trip: %v %+v", err, back)
	}
	res.Complete = true
	b, _ = d.EncodeResponse(q, res)
	if m := decodeJSON(t, b); m["federate"] != nil || m["search_cutoff"] != false {
		t.Errorf("complete answer %s", b)
	}
}

func TestTypesenseEncodeError(t *testing.T) {
	b := tsD(t).EncodeError(&Error{Status: 400, Message: "Bad \"thing\"."})
	if string(b) != `{"message":"Bad \"thing\"."}` {
		t.Errorf("got %s", b)
	}
}

func FuzzTypesenseDecodeResponse(f *testing.F) {
	for _, name := range []string{"typesense/search.json", "typesense/multi_search.json", "typesense/error.json"} {
		f.Add(fixture(f, name))
	}
	d := tsD(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := d.DecodeResponse(body, "")
		if err != nil {
			return
		}
		for _, h := range l.Hits {
			if !json.Valid(h.Doc) || !json.Valid(h.Native) {
				t.Fatalf("invalid hit %q", h.Native)
			}
		}
	})
}

func FuzzTypesenseDecodeRequest(f *testing.F) {
	f.Add("q=a&query_by=b&filter_by=x:%3D%5B%60a%60,b%5D+%26%26+n:5&page=2&per_page=7", "")
	f.Add("", `{"searches":[{"collection":"c","q":"a","per_page":3},{"q":"b","filter_by":"a:=1"}]}`)
	f.Add("q=a&query_by=b,c&sort_by=price:desc,_text_match:desc&highlight_full_fields=b&highlight_start_tag=%3Cb%3E&vector_query=v:([1])", "")
	d := tsD(f)
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		r := httptest.NewRequest("GET", "/collections/c/documents/search", nil)
		r.URL.RawQuery = rawQuery
		q, err := d.DecodeRequest(r, nil)
		if body != "" {
			r = httptest.NewRequest("POST", "/multi_search", nil)
			r.URL.RawQuery = rawQuery
			m, err2 := d.(MultiSearcher).DecodeMulti(r, []byte(body))
			if err2 != nil {
				asError(t, err2)
				return
			}
			if len(m.Queries) == 0 || m.Queries[0] == nil {
				return
			}
			q, err = m.Queries[0], nil
		}
		if err != nil {
			asError(t, err)
			return
		}
		if q.Offset < 0 || q.Limit < 0 || q.Limit > 250 {
			t.Fatalf("window %d %d", q.Offset, q.Limit)
		}
		for _, dialect := range []string{"typesense", "solr"} {
			q.Dialect = dialect
			if _, err := d.BuildRequest(q, Target{Shard: "s", Index: "c?query_by=t", Limit: 10}); err != nil {
				asError(t, err)
			}
		}
	})
}

func tsAnswerOf(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"facet_counts":[{"counts":[{"count":50,"highlighted":"a","value":"a"}],"field_name":"tags","stats":{"total_values":1}}],"found":12345,"out_of":99999,"page":1,"request_params":{"collection_name":"c","per_page":100,"q":"x"},"search_time_ms":3,"hits":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"document":{"id":"doc-%d","title":"A title with some words %d","body":"%s","tags":["a","b","c"],"price":%d.5},"highlight":{},"highlights":[{"field":"title","matched_tokens":["words"],"snippet":"A title with some <mark>words</mark>"}],"text_match":%d,"text_match_info":{"best_field_score":"1108091338752","best_field_weight":15,"fields_matched":1,"score":"%d","tokens_matched":1,"typo_prefix_score":0}}`,
			i, i, strings.Repeat("lorem ipsum dolor sit amet ", 12), i, 578730123365187705-i*1000, 578730123365187705-i*1000)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkTypesenseDecodeResponse(b *testing.B) {
	benchDecode(b, tsD(b), tsAnswerOf(100))
}

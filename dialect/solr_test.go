package dialect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/merge"
)

func solrD(t testing.TB) Dialect { t.Helper(); return mustLookup(t, "solr") }

// bodyReq builds a client request with a body and content type.
func bodyReq(method, target, ctype, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

func TestSolrDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     *http.Request
		body    string
		want    Query // compared on the fields set below
		wantErr int
	}{
		{name: "basic", req: newReq("GET", "/solr/books/select?q=red+fox&start=5&rows=20&fl=id,title,score&fq=lang:en&fq=tag:(a+OR+%22b+c%22)&facet=true&facet.field=tag&facet.field=%7B!ex=t%7Dlang&debugQuery=true"),
			want: Query{Index: "books", Text: "red fox", Offset: 5, Limit: 20, HasLimit: true, Fields: []string{"id", "title"},
				Filter: &Filter{And: []Clause{{"lang", []string{"en"}}, {"tag", []string{"a", "b c"}}}}, Facets: []string{"tag", "lang"}, Explain: true}},
		{name: "match all", req: newReq("GET", "/solr/books/select?q=*:*&fl=*,score"), want: Query{Index: "books"}},
		{name: "quoted and escaped", req: newReq("GET", `/solr/c/query?q=x&fq=`+url.QueryEscape(`title:"a \"b\""`)+`&fq=`+url.QueryEscape(`id:a\:b`)),
			want: Query{Index: "c", Text: "x", Filter: &Filter{And: []Clause{{"title", []string{`a "b"`}}, {"id", []string{"a:b"}}}}}},
		{name: "range is raw", req: newReq("GET", "/solr/c/select?q=x&fq=price:[1+TO+5]&fq=lang:en"),
			want: Query{Index: "c", Text: "x", RawFilter: true, Filter: &Filter{And: []Clause{{"lang", []string{"en"}}}}}},
		{name: "negation is raw", req: newReq("GET", "/solr/c/select?q=x&fq=-lang:en"), want: Query{Index: "c", Text: "x", RawFilter: true}},
		{name: "AND inside is raw", req: newReq("GET", "/solr/c/select?q=x&fq=lang:(en+AND+fr)"), want: Query{Index: "c", Text: "x", RawFilter: true}},
		{name: "wildcard is raw", req: newReq("GET", "/solr/c/select?q=x&fq=lang:e*"), want: Query{Index: "c", Text: "x", RawFilter: true}},
		{name: "form post", req: bodyReq("POST", "/solr/c/select", "application/x-www-form-urlencoded", ""), body: "q=fox&rows=3&fq=a:b",
			want: Query{Index: "c", Text: "fox", Limit: 3, HasLimit: true, Filter: &Filter{And: []Clause{{"a", []string{"b"}}}}}},
		{name: "json request", req: bodyReq("POST", "/solr/c/query", "application/json", ""),
			body: `{"query":"fox","offset":10,"limit":5,"filter":["a:b","c:(d OR e)"],"fields":"id title","facet":{"cats":{"type":"terms","field":"cat"}}}`,
			want: Query{Index: "c", Text: "fox", Offset: 10, Limit: 5, HasLimit: true, Fields: []string{"id", "title"},
				Filter: &Filter{And: []Clause{{"a", []string{"b"}}, {"c", []string{"d", "e"}}}}, Facets: []string{"cat"}}},
		{name: "wt xml", req: newReq("GET", "/solr/c/select?q=x&wt=xml"), wantErr: 400},
		{name: "bad start", req: newReq("GET", "/solr/c/select?q=x&start=-1"), wantErr: 400},
		{name: "bad rows", req: newReq("GET", "/solr/c/select?q=x&rows=ten"), wantErr: 400},
		{name: "bad json", req: bodyReq("POST", "/solr/c/query", "application/json", ""), body: `{"query":`, wantErr: 400},
		{name: "json dsl object", req: bodyReq("POST", "/solr/c/query", "application/json", ""), body: `{"query":{"lucene":{"query":"x"}}}`, wantErr: 400},
		{name: "json wrong types", req: bodyReq("POST", "/solr/c/query", "application/json", ""), body: `{"query":"x","limit":"ten"}`, wantErr: 400},
		{name: "json stats facet", req: bodyReq("POST", "/solr/c/query", "application/json", ""), body: `{"query":"x","facet":{"avg":"avg(price)"}}`, wantErr: 400},
		{name: "json negative offset", req: bodyReq("POST", "/solr/c/query", "application/json", ""), body: `{"offset":-3}`, wantErr: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := solrD(t).DecodeRequest(tt.req, []byte(tt.body))
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
				Filter: q.Filter, RawFilter: q.RawFilter, Facets: q.Facets, Explain: q.Explain}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if q.Dialect != "solr" {
				t.Errorf("Dialect = %q", q.Dialect)
			}
		})
	}
}

func TestSolrBuildRequest(t *testing.T) {
	d := solrD(t)
	target := Target{Shard: "s1", Index: "books", Limit: 30}
	t.Run("pass-through GET", func(t *testing.T) {
		q, err := d.DecodeRequest(newReq("GET", "/solr/books/select?q=title:fox^2&start=20&rows=10&fq=price:[1+TO+5]&sort=price+asc"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.BuildRequest(q, Target{Shard: "s1", Index: "b2", Limit: 30})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(r.RawQuery)
		want := url.Values{"q": {"title:fox^2"}, "start": {"0"}, "rows": {"30"}, "fq": {"price:[1 TO 5]"}, "sort": {"price asc"}, "wt": {"json"}}
		if r.Method != "GET" || r.Path != "/solr/b2/select" || !reflect.DeepEqual(p, want) {
			t.Errorf("got %s %s %v", r.Method, r.Path, p)
		}
	})
	t.Run("pass-through JSON", func(t *testing.T) {
		body := `{"query":"fox","offset":20,"limit":10,"filter":"price:[1 TO 5]","sort":"price asc"}`
		q, err := d.DecodeRequest(bodyReq("POST", "/solr/books/query", "application/json", body), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.BuildRequest(q, target)
		if err != nil {
			t.Fatal(err)
		}
		m := decodeJSON(t, r.Body)
		if m["offset"] != 0.0 || m["limit"] != 30.0 || m["sort"] != "price asc" || m["filter"] != "price:[1 TO 5]" || r.ContentType != "application/json" {
			t.Errorf("body %s", r.Body)
		}
	})
	t.Run("translated", func(t *testing.T) {
		q := &Query{Dialect: "meilisearch", Text: "red fox", Fields: []string{"title"}, Facets: []string{"tag"},
			Filter: &Filter{And: []Clause{{"lang", []string{"en"}}, {"tag", []string{`a "b"`, `c\d`}}}}}
		r, err := d.BuildRequest(q, Target{Shard: "s1", Index: "books?qf=title^2 body", Limit: 15})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(r.RawQuery)
		want := url.Values{"q": {"red fox"}, "defType": {"edismax"}, "q.op": {"OR"}, "qf": {"title^2 body"}, "start": {"0"}, "rows": {"15"},
			"fl": {"title,id,score"}, "wt": {"json"}, "fq": {`lang:"en"`, `tag:("a \"b\"" OR "c\\d")`},
			"facet": {"true"}, "facet.mincount": {"1"}, "facet.limit": {"100"}, "facet.field": {"tag"}}
		if r.Path != "/solr/books/select" || !reflect.DeepEqual(p, want) {
			t.Errorf("got %s %v\nwant %v", r.Path, p, want)
		}
	})
	t.Run("empty text", func(t *testing.T) {
		r, err := d.BuildRequest(&Query{Dialect: "typesense"}, target)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(r.RawQuery)
		if p.Get("q") != "*:*" || p.Get("defType") != "" {
			t.Errorf("got %v", p)
		}
	})
	t.Run("raw filter from another dialect", func(t *testing.T) {
		_, err := d.BuildRequest(&Query{Dialect: "meilisearch", RawFilter: true}, target)
		e := asError(t, err)
		if e.Status != 400 || e.Code != "unsupported_filter" || !strings.Contains(e.Message, "s1") {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("no index", func(t *testing.T) {
		_, err := d.BuildRequest(&Query{Dialect: "solr"}, Target{Shard: "s9"})
		if e := asError(t, err); e.Status != 400 || !strings.Contains(e.Message, "s9") {
			t.Errorf("got %+v", e)
		}
	})
}

func TestSolrDecodeResponse(t *testing.T) {
	d := solrD(t)
	l, err := d.DecodeResponse(fixture(t, "solr/select.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 3 || l.TotalRelation != "" || len(l.Hits) != 3 {
		t.Fatalf("got %+v", l)
	}
	if h := l.Hits[0]; h.ID != "MA147LL/A" || !h.Scored || h.Score != 0.46203798 || !json.Valid(h.Doc) || !strings.Contains(string(h.Doc), `"price":399.0`) {
		t.Errorf("hit 0 = %+v", h)
	}
	if want := map[string]map[string]int64{"cat": {"electronics": 3, "graphics card": 2, "music": 1}}; !reflect.DeepEqual(l.Facets, want) {
		t.Errorf("facets %v", l.Facets)
	}
	l, err = d.DecodeResponse(fixture(t, "solr/select.json"), "name")
	if err != nil || l.Hits[1].ID != "ASUS Extreme N7800GTX/2DHTV (256 MB)" {
		t.Errorf("idField: %v %+v", err, l.Hits[1])
	}

	l, err = d.DecodeResponse(fixture(t, "solr/select_partial.json"), "")
	if err != nil || l.Total != 77 || l.TotalRelation != merge.Gte || l.Hits[1].ID != "2" || l.Hits[0].Scored {
		t.Errorf("partial: %v %+v", err, l)
	}
	l, err = d.DecodeResponse(fixture(t, "solr/json_facet.json"), "")
	if err != nil || l.Facets["categories"]["electronics"] != 12 || l.Hits[0].Score != 1.5 {
		t.Errorf("json facets: %v %+v", err, l)
	}
	l, err = d.DecodeResponse([]byte(`{"response":{"numFound":1,"docs":[{"id":["x","y"]}]},"facet_counts":{"facet_fields":{"f":{"a":2,"b":1}}}}`), "")
	if err != nil || l.Hits[0].ID != "x" || l.Facets["f"]["a"] != 2 {
		t.Errorf("json.nl=map and multi-valued id: %v %+v", err, l)
	}

	bad := map[string]string{
		"error body":     string(fixture(t, "solr/error.json")),
		"html":           "<html><body>502 Bad Gateway</body></html>",
		"empty":          "",
		"truncated":      `{"response":{"numFound":3,"docs":[{"id":"a"`,
		"numFound type":  `{"response":{"numFound":"3","docs":[]}}`,
		"docs type":      `{"response":{"numFound":3,"docs":{}}}`,
		"doc not object": `{"response":{"numFound":1,"docs":[1]}}`,
		"no response":    `{"responseHeader":{"status":0}}`,
		"no docs":        `{"response":{"numFound":3}}`,
		"status nonzero": `{"responseHeader":{"status":500},"response":{"numFound":0,"docs":[]}}`,
		"odd facet list": `{"response":{"numFound":0,"docs":[]},"facet_counts":{"facet_fields":{"f":["a",1,"b"]}}}`,
		"facet count":    `{"response":{"numFound":0,"docs":[]},"facet_counts":{"facet_fields":{"f":["a","x"]}}}`,
		"array":          `[]`,
		"null":           `null`,
	}
	for name, body := range bad {
		if _, err := d.DecodeResponse([]byte(body), ""); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSolrEncodeResponse(t *testing.T) {
	d := solrD(t)
	l1, _ := d.DecodeResponse(fixture(t, "solr/select.json"), "")
	l1.Shard = "a"
	l2, _ := d.DecodeResponse(fixture(t, "solr/select_partial.json"), "")
	l2.Shard = "b"
	res := sampleResponse(t, l1, l2)
	q, err := d.DecodeRequest(newReq("GET", "/solr/books/select?q=video&fl=*,score&facet=true&facet.field=cat&debugQuery=on&debug=results&fq=a:b&fq=c:d"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.EncodeResponse(q, res)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, b)
	if dig(m, "responseHeader", "status") != 0.0 || dig(m, "responseHeader", "partialResults") != true ||
		dig(m, "responseHeader", "params", "q") != "video" || dig(m, "responseHeader", "params", "fq", 1) != "c:d" {
		t.Errorf("responseHeader %v", m["responseHeader"])
	}
	if dig(m, "response", "numFound") != float64(res.Result.Total) || dig(m, "response", "numFoundExact") != false ||
		dig(m, "response", "docs", 0, "id") != "MA147LL/A" || dig(m, "response", "start") != 0.0 {
		t.Errorf("response %v", m["response"])
	}
	if dig(m, "facet_counts", "facet_fields", "cat", 0) != "electronics" || dig(m, "facet_counts", "facet_fields", "cat", 1) != 3.0 {
		t.Errorf("facet_counts %v", m["facet_counts"])
	}
	if dig(m, "shards.info", "a", "shardAddress") != "10.0.0.1:7700" || dig(m, "shards.info", "slow", "error") == nil ||
		!strings.Contains(fmt.Sprint(dig(m, "shards.info", "slow", "trace")), "timeout") || dig(m, "shards.info", "a", "error") != nil {
		t.Errorf("shards.info %v", m["shards.info"])
	}
	if dig(m, "debug", "explain", "MA147LL/A", "details", 0, "shard") != "a" {
		t.Errorf("debug %v", m["debug"])
	}
	// What federate answers, a Solr client (and this decoder) reads back.
	back, err := d.DecodeResponse(b, "")
	if err != nil || len(back.Hits) != len(res.Result.Hits) || back.Hits[0].ID != res.Result.Hits[0].ID || back.Facets["cat"]["music"] != 1 {
		t.Errorf("round trip: %v %+v", err, back)
	}

	// JSON Facet API clients get "facets" back under their own names.
	body := `{"query":"video","facet":{"cats":{"type":"terms","field":"cat"}}}`
	q, err = d.DecodeRequest(bodyReq("POST", "/solr/books/query", "application/json", body), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Complete = true
	b, _ = d.EncodeResponse(q, res)
	m = decodeJSON(t, b)
	if dig(m, "facets", "cats", "buckets", 0, "val") != "electronics" || m["facet_counts"] != nil || dig(m, "responseHeader", "partialResults") != nil {
		t.Errorf("json facets: %s", b)
	}
}

func TestSolrEncodeError(t *testing.T) {
	b := solrD(t).EncodeError(&Error{Status: 503, Code: "shard_unavailable", Message: `no "quorum"`})
	m := decodeJSON(t, b)
	if dig(m, "responseHeader", "status") != 503.0 || dig(m, "error", "code") != 503.0 || dig(m, "error", "msg") != `no "quorum"` ||
		dig(m, "error", "metadata", 0) != "error-class" || dig(m, "error", "metadata", 5) != "shard_unavailable" {
		t.Errorf("got %s", b)
	}
	// The encoded error is what Solr sends, so the decoder refuses it as an answer.
	if _, err := solrD(t).DecodeResponse(b, ""); err == nil {
		t.Error("decoded an error body")
	}
}

func FuzzSolrDecodeResponse(f *testing.F) {
	for _, name := range []string{"solr/select.json", "solr/select_partial.json", "solr/json_facet.json", "solr/error.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"response":{"numFound":1,"docs":[{"id":["x"]}]},"facet_counts":{"facet_fields":{"f":{"a":2}}}}`))
	d := solrD(f)
	fuzzHitDocs(f, d)
}

func FuzzSolrDecodeRequest(f *testing.F) {
	f.Add("q=red+fox&fq=a:b&fq=c:(d+OR+%22e%22)&facet=true&facet.field=x&rows=3", "")
	f.Add("q=x&fq=title:%22a+%5C%22b%22", "")
	f.Add("q=x&sort=price+desc,score+desc&hl=true&hl.fl=title,body&hl.fragsize=0&hl.tag.pre=%3Cb%3E", "")
	f.Add("q={!knn+f%3Dv}[1]&group=true&sort=geodist()+asc", "")
	f.Add("", `{"query":"fox","filter":["a:b"],"facet":{"c":{"type":"terms","field":"cat"}}}`)
	d := solrD(f)
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		method := "GET"
		if body != "" {
			method = "POST"
		}
		r := httptest.NewRequest(method, "/solr/c/select", strings.NewReader(body))
		r.URL.RawQuery = rawQuery
		q, err := d.DecodeRequest(r, []byte(body))
		if err != nil {
			asError(t, err)
			return
		}
		if q.Offset < 0 || q.Limit < 0 {
			t.Fatalf("negative window %d %d", q.Offset, q.Limit)
		}
		// Whatever decoded must build a shard request for solr and another dialect.
		if _, err := d.BuildRequest(q, Target{Shard: "s", Index: "c", Limit: 10}); err != nil {
			asError(t, err)
		}
		q.Dialect = "typesense"
		if _, err := d.BuildRequest(q, Target{Shard: "s", Index: "c", Limit: 10}); err != nil {
			asError(t, err)
		}
	})
}

// solrAnswerOf builds a Solr answer of n hits for benchmarks.
func solrAnswerOf(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"responseHeader":{"status":0,"QTime":3,"params":{"q":"x"}},"response":{"numFound":12345,"start":0,"maxScore":9.5,"numFoundExact":true,"docs":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"doc-%d","title":"A title with some words %d","body":"%s","tags":["a","b","c"],"price":%d.5,"score":%g}`,
			i, i, strings.Repeat("lorem ipsum dolor sit amet ", 12), i, 9.5-float64(i)/20)
	}
	b.WriteString(`]},"facet_counts":{"facet_fields":{"tags":["a",100,"b",100,"c",100]}}}`)
	return []byte(b.String())
}

func BenchmarkSolrDecodeResponse(b *testing.B) {
	benchDecode(b, solrD(b), solrAnswerOf(100))
}

// A Solr client's query reaches shards of every dialect this file's
// engineer owns: translated where the subset allows, refused by name where
// it does not, passed through to Solr.
func TestSolrClientAcrossDialects(t *testing.T) {
	jsonD, err := NewJSON(JSONConfig{Path: "/s?q={federate.q}", Hits: "/hits"})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[Dialect]Target{
		solrD(t): {Shard: "solr1", Index: "books", Limit: 20},
		tsD(t):   {Shard: "ts1", Index: "books?query_by=title", Limit: 20},
		grnD(t):  {Shard: "grn1", Index: "Books?match_columns=title", Limit: 20},
		jsonD:    {Shard: "json1", Limit: 20},
	}
	simple, _ := solrD(t).DecodeRequest(newReq("GET", "/solr/books/select?q=red+fox&start=10&rows=10&fq=lang:(en+OR+fr)&facet=true&facet.field=tag"), nil)
	raw, _ := solrD(t).DecodeRequest(newReq("GET", "/solr/books/select?q=red&fq=price:[1+TO+5]"), nil)
	plain, _ := solrD(t).DecodeRequest(newReq("GET", "/solr/books/select?q=red"), nil)
	for d, tg := range targets {
		_, err := d.BuildRequest(simple, tg)
		if wantErr := d == jsonD; (err != nil) != wantErr {
			t.Errorf("%s simple: %v", d.Name(), err)
		}
		_, err = d.BuildRequest(raw, tg)
		if d.Name() == "solr" {
			if err != nil {
				t.Errorf("solr raw: %v", err)
			}
		} else if e := asError(t, err); e.Code != "unsupported_filter" || !strings.Contains(e.Message, tg.Shard) {
			t.Errorf("%s raw: %+v", d.Name(), e)
		}
		if _, err := d.BuildRequest(plain, tg); err != nil {
			t.Errorf("%s plain: %v", d.Name(), err)
		}
	}
}

// TestSolrReachParamsRefused: parameters that make Solr query other hosts,
// read files or other collections never reach a shard from a client.
func TestSolrReachParamsRefused(t *testing.T) {
	d, _ := Lookup("solr")
	for _, target := range []string{
		"/solr/c/select?q=a&shards=evil.example:8983/solr/x",
		"/solr/c/select?q=a&stream.url=http://169.254.169.254/",
		"/solr/c/select?q=a&qt=/admin/cores",
		"/solr/c/select?q=a&collection=other",
	} {
		q, err := d.DecodeRequest(newReq("GET", target), nil)
		if err != nil {
			t.Fatalf("%s: decode: %v", target, err)
		}
		_, err = d.BuildRequest(q, Target{Shard: "s", Index: "c", Limit: 10})
		if e, ok := err.(*Error); !ok || e.Status != 400 {
			t.Errorf("%s: %v, want a 400", target, err)
		}
	}
	body := []byte(`{"query":"a","params":{"shards":"evil:8983/solr/x"}}`)
	q, err := d.DecodeRequest(newReq("POST", "/solr/c/select"), body)
	if err == nil {
		if _, err = d.BuildRequest(q, Target{Shard: "s", Index: "c", Limit: 10}); err == nil {
			t.Errorf("shards in a JSON body's params reached the shard")
		}
	}
}

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

func grnD(t testing.TB) Dialect { t.Helper(); return mustLookup(t, "groonga") }

func TestGroongaDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		want    Query
		wantErr bool
	}{
		{name: "basic", target: "/d/select?table=Docs&match_columns=title&query=red+OR+fox&offset=5&limit=20&output_columns=_key,_score,title&drilldown=tag,n&filter=" +
			url.QueryEscape(`tag == "a \"b\"" && (n == 1 || n == "2")`),
			want: Query{Index: "Docs", Text: "red OR fox", Offset: 5, Limit: 20, HasLimit: true, Fields: []string{"title"}, Facets: []string{"tag", "n"},
				Filter: &Filter{And: []Clause{{"tag", []string{`a "b"`}}, {"n", []string{"1", "2"}}}}}},
		{name: "json suffix and labeled drilldown", target: "/d/select.json?table=Docs&output_columns=_key,*&drilldowns%5Bt%5D.keys=tag",
			want: Query{Index: "Docs", Facets: []string{"tag"}}},
		{name: "range is raw", target: "/d/select?table=Docs&filter=" + url.QueryEscape("n > 3"), want: Query{Index: "Docs", RawFilter: true}},
		{name: "mixed fields in or is raw", target: "/d/select?table=Docs&filter=" + url.QueryEscape(`a == "1" || b == "2"`), want: Query{Index: "Docs", RawFilter: true}},
		{name: "function is raw", target: "/d/select?table=Docs&filter=" + url.QueryEscape(`geo_in_circle(loc, "1x2", 3)`), want: Query{Index: "Docs", RawFilter: true}},
		{name: "no table", target: "/d/select?query=x", wantErr: true},
		{name: "other command", target: "/d/load?table=Docs", wantErr: true},
		{name: "limit -1", target: "/d/select?table=Docs&limit=-1", wantErr: true},
		{name: "bad offset", target: "/d/select?table=Docs&offset=x", wantErr: true},
		{name: "command_version 3", target: "/d/select?table=Docs&command_version=3", wantErr: true},
		{name: "multi-key drilldown", target: "/d/select?table=Docs&drilldowns%5Bt%5D.keys=a,b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := grnD(t).DecodeRequest(newReq("GET", tt.target), nil)
			if tt.wantErr {
				if err == nil || asError(t, err).Status != 400 {
					t.Fatalf("err = %v", err)
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
	q, err := grnD(t).DecodeRequest(bodyReq("POST", "/d/select", "application/x-www-form-urlencoded", ""), []byte("table=Docs&query=fox"))
	if err != nil || q.Text != "fox" || q.Index != "Docs" {
		t.Errorf("form post: %v %+v", err, q)
	}
}

func TestGroongaBuildRequest(t *testing.T) {
	d := grnD(t)
	t.Run("translated", func(t *testing.T) {
		q := &Query{Dialect: "solr", Text: `red "fox" OR a\b`, Facets: []string{"tag"},
			Filter: &Filter{And: []Clause{{"lang", []string{"en"}}, {"tag", []string{`a "b"`, "c"}}}}}
		r, err := d.BuildRequest(q, Target{Shard: "g1", Index: "Docs?match_columns=title*2||body", Limit: 30})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(r.RawQuery)
		want := url.Values{"table": {"Docs"}, "match_columns": {"title*2||body"}, "query": {`"red" OR "\"fox\"" OR "a\\b"`},
			"filter": {`lang == "en" && (tag == "a \"b\"" || tag == "c")`}, "output_columns": {"_key,_score,*"}, "sort_keys": {"-_score"},
			"drilldowns[tag].keys": {"tag"}, "drilldowns[tag].output_columns": {"_key,_nsubrecs"}, "drilldowns[tag].sort_keys": {"-_nsubrecs"},
			"drilldowns[tag].limit": {"100"}, "offset": {"0"}, "limit": {"30"}}
		if r.Method != "GET" || r.Path != "/d/select" || !reflect.DeepEqual(p, want) {
			t.Errorf("got %v\nwant %v", p, want)
		}
	})
	t.Run("pass-through labels drilldowns", func(t *testing.T) {
		q, err := d.DecodeRequest(newReq("GET", "/d/select?table=Docs&match_columns=title&query=red&filter=n+%3E+1&drilldown=tag&drilldown_limit=5&offset=20&limit=10&scorer=_score%3D1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.BuildRequest(q, Target{Shard: "g1", Index: "Other", Limit: 30})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(r.RawQuery)
		want := url.Values{"table": {"Other"}, "match_columns": {"title"}, "query": {"red"}, "filter": {"n > 1"}, "scorer": {"_score=1"},
			"drilldowns[tag].keys": {"tag"}, "drilldowns[tag].output_columns": {"_key,_nsubrecs"}, "drilldowns[tag].limit": {"5"}, "offset": {"0"}, "limit": {"30"}}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("got %v\nwant %v", p, want)
		}
	})
	for name, tt := range map[string]struct {
		q    *Query
		t    Target
		want string
	}{
		"no match_columns": {&Query{Dialect: "solr", Text: "x"}, Target{Shard: "g7", Index: "Docs", Limit: 10}, "match_columns"},
		"no table":         {&Query{Dialect: "solr"}, Target{Shard: "g8", Limit: 10}, "g8"},
		"raw filter":       {&Query{Dialect: "solr", RawFilter: true}, Target{Shard: "g9", Index: "Docs", Limit: 10}, "g9"},
		"bad field":        {&Query{Dialect: "solr", Filter: &Filter{And: []Clause{{"a-b", []string{"x"}}}}}, Target{Shard: "g5", Index: "Docs", Limit: 10}, "a-b"},
	} {
		_, err := d.BuildRequest(tt.q, tt.t)
		if err == nil || asError(t, err).Status != 400 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if r, err := d.BuildRequest(&Query{Dialect: "solr"}, Target{Shard: "g", Index: "Docs", Limit: 10}); err != nil || strings.Contains(r.RawQuery, "query=") {
		t.Errorf("empty text: %v %v", err, r)
	}
}

func TestGroongaDecodeResponse(t *testing.T) {
	d := grnD(t)
	l, err := d.DecodeResponse(fixture(t, "groonga/select.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 3 || len(l.Hits) != 3 || l.FacetsTruncated {
		t.Fatalf("got %+v", l)
	}
	h := l.Hits[0]
	if h.ID != "c" || !h.Scored || h.Score != 6 || string(h.Native) != `["c",6,"red \"quoted\" \\ back",3,"animal","red red"]` {
		t.Errorf("hit 0 = %+v", h)
	}
	var doc map[string]any
	if err := json.Unmarshal(h.Doc, &doc); err != nil || doc["body"] != `red "quoted" \ back` || doc["n"] != 3.0 || doc["id"] != "c" || doc["_key"] != nil || doc["_score"] != nil { // _key becomes id; Groonga columns are not document fields
		t.Errorf("doc %s: %v", h.Doc, err)
	}
	if want := map[string]map[string]int64{"tag": {"animal": 2, "nature": 1}}; !reflect.DeepEqual(l.Facets, want) {
		t.Errorf("facets %v", l.Facets)
	}
	if l, _ := d.DecodeResponse(fixture(t, "groonga/select.json"), "title"); l.Hits[2].ID != "red fox" {
		t.Errorf("idField %+v", l.Hits[2])
	}
	l, err = d.DecodeResponse(fixture(t, "groonga/select_unlabeled.json"), "")
	if err != nil || l.Total != 3 || len(l.Hits) != 1 || l.Facets != nil {
		t.Errorf("unlabeled: %v %+v", err, l)
	}
	l, err = d.DecodeResponse(fixture(t, "groonga/select_empty.json"), "")
	if err != nil || l.Total != 0 || len(l.Hits) != 0 {
		t.Errorf("empty: %v %+v", err, l)
	}
	l, err = d.DecodeResponse([]byte(`[[0,1,0],[[[9],[["_key","ShortText"]],["x"]],{"t":[[40],[["_key","ShortText"],["_nsubrecs","Int32"]],["a",3]]}]]`), "")
	if err != nil || l.Hits[0].Scored || !l.FacetsTruncated {
		t.Errorf("unscored/truncated: %v %+v", err, l)
	}
	l, err = d.DecodeResponse(fixture(t, "groonga/select_translated.json"), "")
	if err != nil || l.Facets["tag"]["na\"ture"] != 1 || l.Hits[0].Score != 7 {
		t.Errorf("translated: %v %+v", err, l)
	}
	_, err = d.DecodeResponse(fixture(t, "groonga/error.json"), "")
	if err == nil || !strings.Contains(err.Error(), "unknown identifier") {
		t.Errorf("error answer: %v", err)
	}
	for name, body := range map[string]string{
		"html":            "<html>502</html>",
		"truncated":       `[[0,1,0],[[[1],[["_key","ShortText"]],["a"`,
		"object":          `{"n_hits":1}`,
		"empty array":     `[]`,
		"short header":    `[[0],[[[0],[]]]]`,
		"rc type":         `[["0",1,0],[[[0],[]]]]`,
		"no body":         `[[0,1,0]]`,
		"empty body":      `[[0,1,0],[]]`,
		"n_hits type":     `[[0,1,0],[[["1"],[]]]]`,
		"columns type":    `[[0,1,0],[[[1],{}]]]`,
		"column no name":  `[[0,1,0],[[[1],[[]]]]]`,
		"row too long":    `[[0,1,0],[[[1],[["_key","ShortText"]],["a","b"]]]]`,
		"row too short":   `[[0,1,0],[[[1],[["_key","ShortText"],["x","Int32"]],["a"]]]]`,
		"row not array":   `[[0,1,0],[[[1],[["_key","ShortText"]],"a"]]]`,
		"drilldown type":  `[[0,1,0],[[[0],[]],{"t":5}]]`,
		"drilldown count": `[[0,1,0],[[[0],[]],{"t":[[1],[["_key","ShortText"],["_nsubrecs","Int32"]],["a","x"]]}]]`,
		"drilldown cols":  `[[0,1,0],[[[0],[]],{"t":[[1],[["_key","ShortText"]],["a"]]}]]`,
		"version 3":       `{"header":{"return_code":0},"body":{"n_hits":0}}`,
	} {
		if _, err := d.DecodeResponse([]byte(body), ""); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGroongaEncodeResponse(t *testing.T) {
	d := grnD(t)
	l1, _ := d.DecodeResponse(fixture(t, "groonga/select.json"), "")
	l1.Shard = "a"
	l2, _ := solrD(t).DecodeResponse(fixture(t, "solr/select.json"), "")
	l2.Shard = "b"
	res := sampleResponse(t, l1, l2)

	q, err := d.DecodeRequest(newReq("GET", "/d/select?table=Docs&query=red&drilldown=tag"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.EncodeResponse(q, res)
	if err != nil {
		t.Fatal(err)
	}
	var top []json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil || len(top) != 3 {
		t.Fatalf("not [header, body, federate]: %v %s", err, b)
	}
	var extra map[string]any
	_ = json.Unmarshal(top[2], &extra)
	if dig(extra, "federate", "shards", "slow", "status") != "timeout" {
		t.Errorf("federate element %s", top[2])
	}
	back, err := d.DecodeResponse(b, "")
	if err != nil || back.Total != res.Result.Total || len(back.Hits) != len(res.Result.Hits) {
		t.Fatalf("round trip: %v %+v\n%s", err, back, b)
	}
	for i, h := range back.Hits {
		if h.ID != res.Result.Hits[i].ID || h.Score != res.Result.Hits[i].Score {
			t.Errorf("hit %d: %+v vs %+v", i, h, res.Result.Hits[i].Hit)
		}
	}
	var body []json.RawMessage
	_ = json.Unmarshal(top[1], &body)
	if len(body) != 2 || !strings.HasPrefix(string(body[1]), `[[2],[["_key","ShortText"],["_nsubrecs","Int32"]],["animal",2]`) {
		t.Errorf("unlabeled drilldown %s", top[1])
	}
	if !strings.Contains(string(body[0]), `["_key","ShortText"],["_score","Float"]`) || !strings.Contains(string(body[0]), `["price","Float"]`) {
		t.Errorf("columns %s", body[0])
	}

	// Labeled drilldowns and explicit output columns come back as asked.
	q, _ = d.DecodeRequest(newReq("GET", "/d/select?table=Docs&output_columns=_key,title,_score&drilldowns%5Bt%5D.keys=tag"), nil)
	res.Complete = true
	b, _ = d.EncodeResponse(q, res)
	if err := json.Unmarshal(b, &top); err != nil || len(top) != 2 {
		t.Fatalf("complete answer %s", b)
	}
	if !strings.Contains(string(top[1]), `[["_key","ShortText"],["title","Text"],["_score","Float"]]`) || !strings.Contains(string(top[1]), `{"t":[[2],`) {
		t.Errorf("labeled %s", top[1])
	}
}

func TestGroongaEncodeError(t *testing.T) {
	d := grnD(t)
	b := d.EncodeError(&Error{Status: 400, Message: "bad <thing>"})
	var top [][]any
	if err := json.Unmarshal(b, &top); err != nil || len(top) != 1 || top[0][0] != -22.0 || top[0][3] != "bad <thing>" {
		t.Errorf("got %s", b)
	}
	if _, err := d.DecodeResponse(b, ""); err == nil || !strings.Contains(err.Error(), "bad <thing>") {
		t.Errorf("decode own error: %v", err)
	}
	if b := d.EncodeError(&Error{Status: 503, Message: "x"}); !strings.HasPrefix(string(b), "[[-1,") {
		t.Errorf("5xx: %s", b)
	}
}

func FuzzGroongaDecodeResponse(f *testing.F) {
	for _, name := range []string{"groonga/select.json", "groonga/select_unlabeled.json", "groonga/select_empty.json", "groonga/error.json"} {
		f.Add(fixture(f, name))
	}
	d := grnD(f)
	fuzzHitDocs(f, d)
}

func FuzzGroongaDecodeRequest(f *testing.F) {
	f.Add("table=Docs&query=red&filter=tag+%3D%3D+%22a%22+%26%26+(n+%3D%3D+1+%7C%7C+n+%3D%3D+2)&drilldown=tag&limit=3")
	f.Add("table=Docs&drilldowns%5Bx%5D.keys=tag&output_columns=_key,*")
	d := grnD(f)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest("GET", "/d/select", nil)
		r.URL.RawQuery = rawQuery
		q, err := d.DecodeRequest(r, nil)
		if err != nil {
			asError(t, err)
			return
		}
		for _, dialect := range []string{"groonga", "solr"} {
			q.Dialect = dialect
			if _, err := d.BuildRequest(q, Target{Shard: "s", Index: "T?match_columns=a", Limit: 10}); err != nil {
				asError(t, err)
			}
		}
		res := &Response{Result: merge.Result{Hits: []merge.Fused{{Hit: merge.Hit{ID: "x", Doc: []byte(`{"a":1}`)}}}}, Complete: true}
		b, err := d.EncodeResponse(q, res)
		if err != nil || !json.Valid(b) {
			t.Fatalf("encode: %v %s", err, b)
		}
	})
}

func grnAnswerOf(n int) []byte {
	var b strings.Builder
	b.WriteString(`[[0,1795822471.840946,0.0229344367980957],[[[12345],[["_key","ShortText"],["_score","Int32"],["title","Text"],["body","Text"],["tags","ShortText"],["price","Float"]]`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `,["doc-%d",%d,"A title with some words %d","%s",["a","b","c"],%d.5]`, i, 100-i/2, i, strings.Repeat("lorem ipsum dolor sit amet ", 12), i)
	}
	b.WriteString(`],{"tags":[[3],[["_key","ShortText"],["_nsubrecs","Int32"]],["a",100],["b",100],["c",100]]}]]`)
	return []byte(b.String())
}

func BenchmarkGroongaDecodeResponse(b *testing.B) {
	benchDecode(b, grnD(b), grnAnswerOf(100))
}

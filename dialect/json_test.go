package dialect

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// rfc6901Doc is the example document of RFC 6901 section 5.
const rfc6901Doc = `{
      "foo": ["bar", "baz"],
      "": 0,
      "a/b": 1,
      "c%d": 2,
      "e^f": 3,
      "g|h": 4,
      "i\\j": 5,
      "k\"l": 6,
      " ": 7,
      "m~n": 8
   }`

func TestLookupPointer(t *testing.T) {
	tests := []struct {
		ptr, want string
		found     bool
	}{
		{"/foo", `["bar", "baz"]`, true},
		{"/foo/0", `"bar"`, true},
		{"/", `0`, true},
		{"/a~1b", `1`, true},
		{"/c%d", `2`, true},
		{"/e^f", `3`, true},
		{"/g|h", `4`, true},
		{`/i\j`, `5`, true},
		{`/k"l`, `6`, true},
		{"/ ", `7`, true},
		{"/m~0n", `8`, true},
		{"/foo/1", `"baz"`, true},
		{"/foo/2", ``, false},
		{"/foo/-", ``, false},
		{"/foo/01", ``, false},
		{"/foo/x", ``, false},
		{"/foo/0/x", ``, false},
		{"/nope", ``, false},
		{"/nope/deeper", ``, false},
	}
	for _, tt := range tests {
		got, found, err := lookupPointer([]byte(rfc6901Doc), tt.ptr)
		if err != nil || found != tt.found || string(got) != tt.want {
			t.Errorf("%q: got %q %v %v, want %q %v", tt.ptr, got, found, err, tt.want, tt.found)
		}
	}
	if got, found, _ := lookupPointer([]byte(rfc6901Doc), ""); !found || !strings.HasPrefix(string(got), "{") {
		t.Errorf("empty pointer: %q", got)
	}
	for _, bad := range []string{"foo", "/a~2", "/a~"} {
		if _, _, err := lookupPointer([]byte(rfc6901Doc), bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got, _, _ := lookupPointer([]byte(`{"a":1,"a":2}`), "/a"); string(got) != "2" {
		t.Errorf("duplicate key: %s (encoding/json keeps the last)", got)
	}
}

func testJSONConfig() JSONConfig {
	return JSONConfig{
		Path:  "/search/{federate.index}?q={federate.q}&from={federate.offset}",
		Body:  `{"query":"{federate.q}","size":{federate.limit}}`,
		Hits:  "/results",
		ID:    "/id",
		Score: "/score",
		Doc:   "/doc",
		Total: "/total",
	}
}

func TestNewJSON(t *testing.T) {
	if _, err := NewJSON(testJSONConfig()); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*JSONConfig){
		"relative path":   func(c *JSONConfig) { c.Path = "search" },
		"bad hits":        func(c *JSONConfig) { c.Hits = "results" },
		"bad escape":      func(c *JSONConfig) { c.ID = "/a~2" },
		"unquoted q":      func(c *JSONConfig) { c.Body = `{"query":{federate.q}}` },
		"not JSON at all": func(c *JSONConfig) { c.Body = `query={federate.q}` },
	} {
		c := testJSONConfig()
		mod(&c)
		if _, err := NewJSON(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestJSONBuildRequest(t *testing.T) {
	d, _ := NewJSON(testJSONConfig())
	text := "red \"fox\"/&?\n é"
	r, err := d.BuildRequest(&Query{Dialect: "solr", Text: text, Facets: []string{"ignored"}}, Target{Shard: "j", Index: "my index/x", Offset: 0, Limit: 25})
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.Path != "/search/my%20index%2Fx" || r.ContentType != "application/json" {
		t.Errorf("got %+v", r)
	}
	if p, _ := url.ParseQuery(r.RawQuery); p.Get("q") != text || p.Get("from") != "0" {
		t.Errorf("query %q", r.RawQuery)
	}
	var body struct {
		Query string `json:"query"`
		Size  int    `json:"size"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Query != text || body.Size != 25 {
		t.Errorf("body %s: %v", r.Body, err)
	}
	get, _ := NewJSON(JSONConfig{Path: "/s?q={federate.q}", Hits: "/hits"})
	if r, _ := get.BuildRequest(&Query{}, Target{}); r.Method != "GET" || r.Body != nil || r.RawQuery != "q=" {
		t.Errorf("GET default: %+v", r)
	}
	for _, q := range []*Query{{Dialect: "solr", RawFilter: true}, {Dialect: "solr", Filter: &Filter{And: []Clause{{"a", []string{"b"}}}}}} {
		_, err := d.BuildRequest(q, Target{Shard: "j7"})
		if e := asError(t, err); e.Code != "unsupported_filter" || !strings.Contains(e.Message, "j7") {
			t.Errorf("filter: %+v", e)
		}
	}
	if _, err := d.DecodeRequest(newReq("GET", "/"), nil); asError(t, err).Status != 400 {
		t.Error("DecodeRequest should refuse")
	}
	if _, err := d.EncodeResponse(&Query{}, &Response{}); asError(t, err).Status != 400 {
		t.Error("EncodeResponse should refuse")
	}
	if m := decodeJSON(t, d.EncodeError(&Error{Status: 502, Code: "x", Message: "m"})); m["error"] != "m" {
		t.Errorf("EncodeError %v", m)
	}
	if d.Name() != "json" || d.DefaultLimit() != 10 {
		t.Error("name/limit")
	}
}

func TestJSONDecodeResponse(t *testing.T) {
	d, _ := NewJSON(testJSONConfig())
	l, err := d.DecodeResponse(fixture(t, "json/results.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 42 || l.TotalRelation != "" || len(l.Hits) != 3 {
		t.Fatalf("got %+v", l)
	}
	want := []struct {
		id     string
		score  float64
		scored bool
		doc    string
	}{
		{"a", 12.5, true, `{"id": "a", "title": "red fox"}`},
		{"7", 3, true, `{"id": 7, "title": "seven"}`},
		{"c", 0, false, `{"id": "c", "title": "unscored"}`},
	}
	for i, w := range want {
		h := l.Hits[i]
		if h.ID != w.id || h.Score != w.score || h.Scored != w.scored || string(h.Doc) != w.doc || !json.Valid(h.Native) {
			t.Errorf("hit %d = %+v %s", i, h, h.Doc)
		}
	}
	if l, _ := d.DecodeResponse(fixture(t, "json/results.json"), "title"); l.Hits[1].ID != "seven" {
		t.Errorf("idField: %+v", l.Hits[1])
	}
	bare, _ := NewJSON(JSONConfig{Path: "/", Hits: ""})
	l, err = bare.DecodeResponse([]byte(`[{"x":1},{"x":2}]`), "x")
	if err != nil || l.Total != 2 || l.TotalRelation != "gte" || l.Hits[1].ID != "2" || string(l.Hits[0].Doc) != `{"x":1}` {
		t.Errorf("bare array: %v %+v", err, l)
	}
	for name, body := range map[string]string{
		"html":        "<html></html>",
		"truncated":   `{"total":1,"results":[{"id":"a"`,
		"no hits":     `{"total":1}`,
		"hits object": `{"total":1,"results":{}}`,
		"no total":    `{"results":[]}`,
		"total type":  `{"total":"1","results":[]}`,
		"total neg":   `{"total":-1,"results":[]}`,
		"no doc":      `{"total":1,"results":[{"id":"a"}]}`,
		"empty":       ``,
	} {
		if _, err := d.DecodeResponse([]byte(body), ""); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// refPointer is a reference RFC 6901 evaluator over fully decoded values.
func refPointer(doc any, toks []string) (any, bool) {
	cur := doc
	for _, tok := range toks {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) || strconv.Itoa(i) != tok {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func FuzzJSONPointer(f *testing.F) {
	f.Add([]byte(rfc6901Doc), "/foo/1")
	f.Add([]byte(rfc6901Doc), "/m~0n")
	f.Add([]byte(`{"hits":{"hits":[{"_id":"1","_source":{"a":[1,{"b":"\u00e9"}]}}]}}`), "/hits/hits/0/_source/a/1/b")
	f.Add([]byte(`[[],{},"x",1e5,null,true]`), "/1")
	f.Fuzz(func(t *testing.T, doc []byte, ptr string) {
		got, found, err := lookupPointer(doc, ptr)
		toks, perr := parsePointer(ptr)
		if perr != nil {
			if err == nil {
				t.Fatalf("bad pointer %q accepted", ptr)
			}
			return
		}
		var v any
		if json.Unmarshal(doc, &v) != nil {
			return // the dialect validates answers before looking up
		}
		if err != nil {
			t.Fatalf("valid doc: %v", err)
		}
		want, wantFound := refPointer(v, toks)
		if found != wantFound {
			t.Fatalf("%q in %q: found %v, reference %v", ptr, doc, found, wantFound)
		}
		if !found {
			return
		}
		var g any
		if err := json.Unmarshal(got, &g); err != nil || !reflect.DeepEqual(g, want) {
			t.Fatalf("%q in %q: got %s (%v), reference %v", ptr, doc, got, err, want)
		}
	})
}

func FuzzJSONDecodeResponse(f *testing.F) {
	f.Add(fixture(f, "json/results.json"))
	f.Add([]byte(`{"total":0,"results":[]}`))
	d, err := NewJSON(testJSONConfig())
	if err != nil {
		f.Fatal(err)
	}
	fuzzHitDocs(f, d)
}

func jsonAnswerOf(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"took":3,"total":12345,"results":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"doc-%d","score":%g,"match":{"title":["words"]},"doc":{"id":"doc-%d","title":"A title with some words %d","body":"%s","tags":["a","b","c"],"price":%d.5}}`,
			i, 50-float64(i)/3, i, i, strings.Repeat("lorem ipsum dolor sit amet ", 12), i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkJSONDecodeResponse(b *testing.B) {
	d, _ := NewJSON(testJSONConfig())
	benchDecode(b, d, jsonAnswerOf(100))
}

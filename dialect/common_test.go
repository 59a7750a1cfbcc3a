package dialect

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// newReq builds a client request for DecodeRequest tests.
func newReq(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeJSON parses b into generic values, failing the test when b is not
// valid JSON.
func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return m
}

// dig walks a decoded JSON value by keys and array indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// mustLookup returns the registered dialect name.
func mustLookup(t testing.TB, name string) Dialect {
	t.Helper()
	d, ok := Lookup(name)
	if !ok {
		t.Fatal(name + " not registered")
	}
	return d
}

// fuzzHitDocs fuzzes d.DecodeResponse: whatever it accepts, every hit's Doc
// is valid JSON.
func fuzzHitDocs(f *testing.F, d Dialect) {
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := d.DecodeResponse(body, "")
		if err != nil {
			return
		}
		for _, h := range l.Hits {
			if !json.Valid(h.Doc) {
				t.Fatalf("invalid doc %q from %q", h.Doc, body)
			}
		}
	})
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not *Error", err, err)
	}
	return e
}

// sampleResponse merges two shard lists into a Response the encoders are
// tested with: a failed and a skipped shard next to two good ones.
func sampleResponse(t testing.TB, lists ...merge.List) *Response {
	t.Helper()
	res := merge.Merge(lists, 2, merge.Options{Dedupe: true, Limit: 10})
	return &Response{
		Result: res,
		Shards: []ShardReport{
			{Name: "a", Status: StatusOK, Took: 3 * time.Millisecond, Replica: "10.0.0.1:7700", HTTPStatus: 200, Hits: len(lists[0].Hits)},
			{Name: "b", Status: StatusOK, Took: 4 * time.Millisecond, HTTPStatus: 200},
			{Name: "slow", Status: StatusTimeout, Took: 2 * time.Second},
			{Name: "solr1", Status: StatusSkipped, Reason: "filter not expressible"},
		},
		Took: 12 * time.Millisecond,
	}
}

func TestSpliceHelpers(t *testing.T) {
	tests := []struct {
		obj, want string
	}{
		{`{}`, `{"k":1}`},
		{` { } `, `{ "k":1}`},
		{`{"a":"}"}`, `{"a":"}","k":1}`},
		{``, `{"k":1}`},
	}
	for _, tt := range tests {
		if got := string(appendObjectWith(nil, []byte(tt.obj), field{"k", []byte("1")})); got != tt.want {
			t.Errorf("appendObjectWith(%q) = %s, want %s", tt.obj, got, tt.want)
		}
	}
	drop := func(k []byte) bool { return strings.HasPrefix(string(k), "_") }
	for in, want := range map[string]string{
		`{"a":1,"_x":{"y":"}"},"b":[1,{"c":2}]}`: `{"a":1,"b":[1,{"c":2}]}`,
		`{"_x":1}`:                               `{}`,
		`{"a":1}`:                                `{"a":1}`,
		`{"a\"b":"\\","_z":null}`:                `{"a\"b":"\\"}`,
	} {
		if got := string(withoutMembers([]byte(in), drop)); got != want {
			t.Errorf("withoutMembers(%s) = %s, want %s", in, got, want)
		}
	}
	obj := []byte(`{"a.b":1,"a":{"b":2,"c":{"d":"x"}},"e":null}`)
	for path, want := range map[string]string{"a.b": "1", "a.c.d": "x", "e": "", "a.z": ""} {
		v, _ := lookupPath(obj, path)
		if got := scalarString(v); got != want {
			t.Errorf("lookupPath(%s) = %q, want %q", path, got, want)
		}
	}
	for in, want := range map[string]string{"a\"b\\\n\x01é\u2028": `"a\"b\\\n\u0001é\u2028"`, "\xff": `"\ufffd"`} {
		got := appendString(nil, in)
		if string(got) != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
		var s string
		if err := json.Unmarshal(got, &s); err != nil {
			t.Errorf("appendString(%q) is not JSON: %v", in, err)
		}
	}
}

// Every walker must fail cleanly, never panic, on truncated input.
func TestWalkersTruncated(t *testing.T) {
	src := `{"a":[1,{"b":"c\"}"}],"d":{"e":true},"f":"g"}`
	for i := 0; i <= len(src); i++ {
		b := []byte(src[:i])
		_ = eachMember(b, func(string, []byte, int, int) bool { return true })
		_ = eachElement(b, func([]byte) bool { return true })
		lookupPath(b, "d.e")
		withoutMembers(b, func([]byte) bool { return true })
	}
}

// A filter or query only the client's dialect can express is the same error
// on every shard dialect: one code, the shard named.
func TestUnsupportedFilterEveryDialect(t *testing.T) {
	for _, shard := range Names() {
		d, _ := Lookup(shard)
		client := "solr"
		if shard == client {
			client = "meilisearch"
		}
		q := &Query{Dialect: client, Text: "x", RawFilter: true}
		tg := Target{Shard: "raw-" + shard, Index: "c?query_by=title&match_columns=title", Limit: 10}
		_, err := d.BuildRequest(q, tg)
		if err == nil {
			t.Errorf("%s: raw %s filter accepted", shard, client)
			continue
		}
		e := asError(t, err)
		if e.Status != http.StatusBadRequest || e.Code != "unsupported_filter" || !strings.Contains(e.Message, tg.Shard) {
			t.Errorf("%s: err = %+v", shard, e)
		}
	}
}

package dialect

import (
	"reflect"
	"testing"
)

func TestFederateDecodeRequest(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		want                       Query
		bad                        bool
	}{
		{name: "get", method: "GET", target: "/search?q=heat&offset=2&limit=3&facets=a,b&fields=title&explain=true",
			want: Query{Text: "heat", Offset: 2, Limit: 3, HasLimit: true, Facets: []string{"a", "b"}, Fields: []string{"title"}, Explain: true}},
		{name: "post", method: "POST", target: "/search",
			body: `{"q":"heat","offset":1,"limit":5,"filter":{"year":[1995,"1996"],"genre":"crime","ok":true},"facets":["genre"],"fields":["t"],"explain":true}`,
			want: Query{Text: "heat", Offset: 1, Limit: 5, HasLimit: true, Facets: []string{"genre"}, Fields: []string{"t"}, Explain: true,
				Filter: &Filter{And: []Clause{{"genre", []string{"crime"}}, {"ok", []string{"true"}}, {"year", []string{"1995", "1996"}}}}}},
		{name: "bad json", method: "POST", target: "/search", body: `{"q":`, bad: true},
		{name: "unknown member", method: "POST", target: "/search", body: `{"query":"x"}`, bad: true},
		{name: "trailing", method: "POST", target: "/search", body: `{} {}`, bad: true},
		{name: "negative", method: "POST", target: "/search", body: `{"limit":-1}`, bad: true},
		{name: "filter object", method: "POST", target: "/search", body: `{"filter":{"a":{"b":1}}}`, bad: true},
		{name: "filter empty", method: "POST", target: "/search", body: `{"filter":{"a":[]}}`, bad: true},
		{name: "get bad offset", method: "GET", target: "/search?offset=-3", bad: true},
		{name: "get bad explain", method: "GET", target: "/search?explain=1", bad: true},
	}
	d := es(t, "federate")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := d.DecodeRequest(newReq(tt.method, tt.target), []byte(tt.body))
			if tt.bad {
				if e := asError(t, err); e.Status != 400 || e.Code != "bad_request" {
					t.Fatalf("error = %+v", e)
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

func TestFederateBuildDecode(t *testing.T) {
	d := es(t, "federate")
	q := &Query{Dialect: "meilisearch", Text: "x", Facets: []string{"g"},
		Filter: &Filter{And: []Clause{{"a", []string{"1", "2"}}, {"b", []string{"z"}}, {"a", []string{"2", "3"}}}}}
	r, err := d.BuildRequest(q, Target{Shard: "f", Index: "/api/v1/", Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, r.Body)
	if r.Path != "/api/v1/search" || m["offset"] != 0.0 || m["limit"] != 7.0 || m["q"] != "x" ||
		!reflect.DeepEqual(dig(m, "filter", "a"), []any{"2"}) || dig(m, "filter", "b") != "z" {
		t.Fatalf("request = %s %v", r.Path, m)
	}
	// What BuildRequest sends, DecodeRequest reads back.
	back, err := d.DecodeRequest(newReq("POST", "/search"), r.Body)
	if err != nil || back.Text != "x" || back.Limit != 7 || len(back.Filter.And) != 2 {
		t.Fatalf("round trip = %+v %v", back, err)
	}
	if _, err := d.BuildRequest(&Query{Dialect: "elasticsearch", RawFilter: true}, Target{Shard: "f"}); asError(t, err).Status != 400 || asError(t, err).Code != "unsupported_filter" {
		t.Fatalf("raw filter: %v", err)
	}
	r, _ = d.BuildRequest(&Query{Dialect: "federate"}, Target{Shard: "f", Limit: 1})
	if r.Path != "/search" {
		t.Errorf("path = %s", r.Path)
	}

	l, err := d.DecodeResponse(fixture(t, "federate_response.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Hits) != 2 || l.Hits[1].ID != "2" || l.Hits[1].Score != 0.016 || !l.Hits[1].Scored || l.Total != 40 ||
		!l.FacetsTruncated || l.Facets["genre"]["crime"] != 7 || string(l.Hits[0].Doc) != `{"id":"1","title":"Drive"}` {
		t.Fatalf("list = %+v", l)
	}
	l, _ = d.DecodeResponse(fixture(t, "federate_response.json"), "meta.isbn")
	if l.Hits[1].ID != "i-2" || l.Hits[0].ID != "" {
		t.Errorf("ids by field = %q %q", l.Hits[0].ID, l.Hits[1].ID)
	}
	for _, bad := range []string{``, `{}`, `<html>`, `{"hits":[1]}`, `{"hits":[{"id":1}`, `{"hits":[],"total":"x"}`} {
		if _, err := d.DecodeResponse([]byte(bad), ""); err == nil {
			t.Errorf("DecodeResponse(%q) = nil error", bad)
		}
	}
}

func TestFederateEncode(t *testing.T) {
	d := es(t, "federate")
	res := sampleResponse(t, meiliLists(t)...)
	q := &Query{Dialect: "federate", Limit: 10, HasLimit: true, Explain: true}
	out, err := d.EncodeResponse(q, res)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, out)
	if dig(m, "hits", 0, "shard") != "a" || dig(m, "hits", 0, "doc", "title") == nil || dig(m, "hits", 0, "sources", 1, "shard") != "b" ||
		dig(m, "total_relation") != "gte" || m["complete"] != false || dig(m, "limit") != 10.0 {
		t.Errorf("answer = %s", out)
	}
	if dig(m, "shards", "slow", "status") != "timeout" || dig(m, "shards", "slow", "reason") == "" || dig(m, "shards", "a", "replica") != "10.0.0.1:7700" ||
		dig(m, "shards", "a", "reason") != "" || dig(m, "facets", "genres", "exact") != false {
		t.Errorf("shards/facets = %v %v", m["shards"], m["facets"])
	}
	// The answer decodes as a shard answer (a federate shard of a federate route).
	if l, err := d.DecodeResponse(out, ""); err != nil || len(l.Hits) != len(res.Result.Hits) || l.TotalRelation != "gte" {
		t.Errorf("re-decode = %+v %v", l, err)
	}
	e := decodeJSON(t, d.EncodeError(&Error{Status: 503, Code: "quorum", Message: "too few shards"}))
	if dig(e, "error", "code") != "quorum" || dig(e, "error", "message") != "too few shards" || e["status"] != 503.0 {
		t.Errorf("error = %v", e)
	}
}

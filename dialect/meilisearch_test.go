package dialect

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/merge"
)

func meili(t testing.TB) Dialect {
	d, ok := Lookup("meilisearch")
	if !ok {
		t.Fatal("meilisearch not registered")
	}
	return d
}

func TestMeiliDecodeRequest(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		want                       Query // Dialect, Method, Body, Params not compared
		code                       string
	}{
		{name: "post basic", method: "POST", target: "/indexes/movies/search",
			body: `{"q":"batman","offset":5,"limit":7,"facets":["genre"],"attributesToRetrieve":["title","id"]}`,
			want: Query{Index: "movies", Text: "batman", Offset: 5, Limit: 7, HasLimit: true, Facets: []string{"genre"}, Fields: []string{"title", "id"}}},
		{name: "post empty body", method: "POST", target: "/indexes/movies/search", want: Query{Index: "movies"}},
		{name: "page mapping", method: "POST", target: "/indexes/m/search", body: `{"page":3,"hitsPerPage":10}`,
			want: Query{Index: "m", Offset: 20, Limit: 10, HasLimit: true}},
		{name: "page only", method: "POST", target: "/indexes/m/search", body: `{"page":2}`,
			want: Query{Index: "m", Offset: 20, Limit: 20, HasLimit: true}},
		{name: "filter string", method: "POST", target: "/indexes/m/search",
			body: `{"filter":"genre = \"horror\" AND year IN [1,2]"}`,
			want: Query{Index: "m", Filter: &Filter{And: []Clause{{"genre", []string{"horror"}}, {"year", []string{"1", "2"}}}}}},
		{name: "filter array", method: "POST", target: "/indexes/m/search",
			body: `{"filter":[["a = 1","a = 2"],"b = 3"]}`,
			want: Query{Index: "m", Filter: &Filter{And: []Clause{{"a", []string{"1", "2"}}, {"b", []string{"3"}}}}}},
		{name: "filter or is raw", method: "POST", target: "/indexes/m/search",
			body: `{"filter":"a = 1 OR b = 2"}`, want: Query{Index: "m", RawFilter: true}},
		{name: "filter array mixed fields is raw", method: "POST", target: "/indexes/m/search",
			body: `{"filter":[["a = 1","b = 2"]]}`, want: Query{Index: "m", RawFilter: true}},
		{name: "filter range is raw", method: "POST", target: "/indexes/m/search",
			body: `{"filter":"year > 2000"}`, want: Query{Index: "m", RawFilter: true}},
		{name: "attributes star", method: "POST", target: "/indexes/m/search",
			body: `{"attributesToRetrieve":["*"]}`, want: Query{Index: "m"}},
		{name: "explain", method: "POST", target: "/indexes/m/search",
			body: `{"q":null,"showRankingScore":true,"showRankingScoreDetails":true}`, want: Query{Index: "m", Explain: true}},
		{name: "get", method: "GET", target: "/indexes/m/search?q=dark+knight&offset=1&limit=2&filter=genre%20%3D%20drama&facets=genre,year&attributesToRetrieve=title,%20id",
			want: Query{Index: "m", Text: "dark knight", Offset: 1, Limit: 2, HasLimit: true,
				Filter: &Filter{And: []Clause{{"genre", []string{"drama"}}}}, Facets: []string{"genre", "year"}, Fields: []string{"title", "id"}}},
		{name: "mounted under prefix", method: "GET", target: "/api/search/indexes/a%20b/search", want: Query{Index: "a b"}},

		{name: "bad json", method: "POST", target: "/indexes/m/search", body: `{"q":`, code: "malformed_payload"},
		{name: "html", method: "POST", target: "/indexes/m/search", body: `<html><body>502</body></html>`, code: "malformed_payload"},
		{name: "array body", method: "POST", target: "/indexes/m/search", body: `[1]`, code: "malformed_payload"},
		{name: "q number", method: "POST", target: "/indexes/m/search", body: `{"q":1}`, code: "invalid_search_q"},
		{name: "negative limit", method: "POST", target: "/indexes/m/search", body: `{"limit":-1}`, code: "invalid_search_limit"},
		{name: "offset string", method: "POST", target: "/indexes/m/search", body: `{"offset":"1"}`, code: "invalid_search_offset"},
		{name: "page zero", method: "POST", target: "/indexes/m/search", body: `{"page":0}`, code: "invalid_search_page"},
		{name: "facets string", method: "POST", target: "/indexes/m/search", body: `{"facets":"genre"}`, code: "invalid_search_facets"},
		{name: "filter number", method: "POST", target: "/indexes/m/search", body: `{"filter":3}`, code: "invalid_search_filter"},
		{name: "filter unclosed quote", method: "POST", target: "/indexes/m/search", body: `{"filter":"a = \"x"}`, code: "invalid_search_filter"},
		{name: "filter too deep", method: "POST", target: "/indexes/m/search", body: `{"filter":[[["a = 1"]]]}`, code: "invalid_search_filter"},
		{name: "score not bool", method: "POST", target: "/indexes/m/search", body: `{"showRankingScore":"yes"}`, code: "invalid_search_show_ranking_score"},
		{name: "get bad limit", method: "GET", target: "/indexes/m/search?limit=x", code: "invalid_search_limit"},
		{name: "get bad bool", method: "GET", target: "/indexes/m/search?showRankingScoreDetails=1", code: "invalid_search_show_ranking_score_details"},
	}
	d := meili(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := d.DecodeRequest(newReq(tt.method, tt.target), []byte(tt.body))
			if tt.code != "" {
				e := asError(t, err)
				if e.Code != tt.code || e.Status != 400 || e.Type != "invalid_request" {
					t.Fatalf("error = %+v, want code %s", e, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.Dialect != "meilisearch" || q.Method != tt.method {
				t.Errorf("dialect/method = %s/%s", q.Dialect, q.Method)
			}
			got := *q
			got.Dialect, got.Method, got.Body, got.Params, got.Display = "", "", nil, nil, Display{} // Display: TestDecodeDisplay
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestMeiliFilterFormat(t *testing.T) {
	f := &Filter{And: []Clause{{"genre", []string{`sci "fi"`}}, {"year", []string{"1", `a\b`}}}}
	s := formatMeiliFilter(f)
	if want := `genre = "sci \"fi\"" AND year IN ["1", "a\\b"]`; s != want {
		t.Fatalf("format = %s, want %s", s, want)
	}
	raw, _ := json.Marshal(s)
	back, rawOnly, err := parseMeiliFilter(raw)
	if err != nil || rawOnly || !reflect.DeepEqual(back, f) {
		t.Fatalf("round trip = %+v, %v, %v", back, rawOnly, err)
	}
}

func TestMeiliBuildRequest(t *testing.T) {
	d := meili(t)
	target := Target{Shard: "m1", Index: "films", Offset: 0, Limit: 30}

	// From another dialect: translated.
	q := &Query{Dialect: "elasticsearch", Text: "dark", Filter: &Filter{And: []Clause{{"genre", []string{"drama"}}}},
		Facets: []string{"genre"}, Fields: []string{"title"}, Offset: 10, Limit: 20}
	r, err := d.BuildRequest(q, target)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.Path != "/indexes/films/search" || r.ContentType != "application/json" {
		t.Fatalf("request = %+v", r)
	}
	m := decodeJSON(t, r.Body)
	want := map[string]any{"q": "dark", "offset": 0.0, "limit": 30.0, "showRankingScore": true,
		"filter": `genre = "drama"`, "facets": []any{"genre"}, "attributesToRetrieve": []any{"title", "id"}} // the id is always asked for
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("body = %v, want %v", m, want)
	}

	// Raw filter from another dialect: rejected with 400.
	_, err = d.BuildRequest(&Query{Dialect: "elasticsearch", RawFilter: true}, target)
	if e := asError(t, err); e.Status != 400 || e.Code != "unsupported_filter" {
		t.Fatalf("raw filter error = %+v", e)
	}

	// Same dialect, POST: passed through, window rewritten.
	body := `{"q":"x","page":3,"hitsPerPage":5,"filter":"a = 1 OR b = 2","sort":["year:desc"],"showRankingScore":false}`
	q, err = d.DecodeRequest(newReq("POST", "/indexes/movies/search"), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err = d.BuildRequest(q, Target{Shard: "m1", Limit: 15})
	if err != nil {
		t.Fatal(err)
	}
	m = decodeJSON(t, r.Body)
	want = map[string]any{"q": "x", "offset": 0.0, "limit": 15.0, "filter": "a = 1 OR b = 2",
		"sort": []any{"year:desc"}, "showRankingScore": true}
	if r.Path != "/indexes/movies/search" || !reflect.DeepEqual(m, want) {
		t.Fatalf("pass-through = %s %v", r.Path, m)
	}

	// Same dialect, GET: passed through as GET.
	q, err = d.DecodeRequest(newReq("GET", "/indexes/movies/search?q=x&page=2&filter=a%20%3E%201&sort=year:desc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err = d.BuildRequest(q, Target{Shard: "m1", Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := url.ParseQuery(r.RawQuery)
	if r.Method != "GET" || p.Get("limit") != "40" || p.Get("offset") != "0" || p.Has("page") ||
		p.Get("filter") != "a > 1" || p.Get("sort") != "year:desc" || p.Get("showRankingScore") != "true" {
		t.Fatalf("GET pass-through = %+v", r)
	}

	// No index anywhere: an error, not a bad path.
	if _, err := d.BuildRequest(&Query{Dialect: "federate"}, Target{Shard: "x", Limit: 1}); err == nil {
		t.Fatal("want an error without an index")
	}
}

func TestMeiliDecodeResponse(t *testing.T) {
	d := meili(t)
	l, err := d.DecodeResponse(fixture(t, "meilisearch_response.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Hits) != 3 || l.Total != 976 || l.TotalRelation != "" {
		t.Fatalf("list = %+v", l)
	}
	h := l.Hits[0]
	if h.ID != "2770" || !h.Scored || h.Score != 0.9842 {
		t.Errorf("hit 0 = %s %v %v", h.ID, h.Score, h.Scored)
	}
	if strings.Contains(string(h.Doc), "_rankingScore") || !strings.Contains(string(h.Doc), "_formatted") {
		t.Errorf("doc = %s", h.Doc)
	}
	if !strings.Contains(string(h.Native), "_rankingScore") {
		t.Errorf("native lost _rankingScore: %s", h.Native)
	}
	if l.Hits[1].ID != "190859" || strings.Contains(string(l.Hits[1].Doc), "_rankingScoreDetails") {
		t.Errorf("hit 1 = %s %s", l.Hits[1].ID, l.Hits[1].Doc)
	}
	if l.Facets["genres"]["Comedy"] != 5 {
		t.Errorf("facets = %v", l.Facets)
	}
	// dotted id field
	l, _ = d.DecodeResponse(fixture(t, "meilisearch_response.json"), "details.isbn")
	if l.Hits[1].ID != "x-1" || l.Hits[0].ID != "" {
		t.Errorf("dotted ids = %q %q", l.Hits[0].ID, l.Hits[1].ID)
	}
	l, err = d.DecodeResponse(fixture(t, "meilisearch_response_paged.json"), "")
	if err != nil || l.Total != 42 || l.Hits[0].Scored {
		t.Fatalf("paged = %+v %v", l, err)
	}

	for _, bad := range []string{
		``, `null`, `{}`, `[]`, `<html>502 Bad Gateway</html>`, `{"hits":[{"id":1}`, `{"hits":{}}`,
		`{"hits":[1,2]}`, `{"hits":[],"estimatedTotalHits":"many"}`, `{"hits":[],"facetDistribution":{"a":{"b":"c"}}}`,
	} {
		if _, err := d.DecodeResponse([]byte(bad), ""); err == nil {
			t.Errorf("DecodeResponse(%q) = nil error", bad)
		}
	}
}

func meiliLists(t testing.TB) []merge.List {
	d := meili(t)
	a, err := d.DecodeResponse(fixture(t, "meilisearch_response.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	a.Shard = "a"
	b, err := d.DecodeResponse([]byte(`{"hits":[{"id":2770,"title":"dup","_rankingScore":0.7},{"id":5,"title":"five","_rankingScore":0.6}],"estimatedTotalHits":2,"facetDistribution":{"genres":{"Comedy":1}}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	b.Shard = "b"
	return []merge.List{a, b}
}

func TestMeiliEncodeResponse(t *testing.T) {
	d := meili(t)
	res := sampleResponse(t, meiliLists(t)...)
	q, _ := d.DecodeRequest(newReq("POST", "/indexes/m/search"), []byte(`{"q":"american","limit":10,"facets":["genres"]}`))
	out, err := d.EncodeResponse(q, res)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, out)
	if dig(m, "query") != "american" || dig(m, "limit") != 10.0 || dig(m, "offset") != 0.0 || dig(m, "estimatedTotalHits") == nil {
		t.Errorf("head = %s", out)
	}
	if n := len(dig(m, "hits").([]any)); n != 4 {
		t.Errorf("hits = %d, want 4 (one duplicate fused)", n)
	}
	if dig(m, "hits", 0, "_federation", "shard") != "a" || dig(m, "hits", 0, "_federation", "rank") != 1.0 {
		t.Errorf("federation = %v", dig(m, "hits", 0))
	}
	if dig(m, "hits", 0, "_rankingScore") != nil || dig(m, "hits", 0, "_federation", "sources") != nil {
		t.Errorf("score/sources not asked: %v", dig(m, "hits", 0))
	}
	if dig(m, "hits", 0, "_formatted", "title") == nil {
		t.Errorf("_formatted lost: %v", dig(m, "hits", 0))
	}
	if dig(m, "facetDistribution", "genres", "Comedy") != 6.0 {
		t.Errorf("facets = %v", dig(m, "facetDistribution"))
	}
	if dig(m, "remoteErrors", "slow", "code") != "shard_timeout" || dig(m, "remoteErrors", "solr1", "code") != "shard_skipped" ||
		dig(m, "remoteErrors", "slow", "link") != "https://docs.meilisearch.com/errors#shard_timeout" || dig(m, "remoteErrors", "a") != nil {
		t.Errorf("remoteErrors = %v", dig(m, "remoteErrors"))
	}

	// showRankingScore and explain, finite pagination.
	q, _ = d.DecodeRequest(newReq("POST", "/indexes/m/search"), []byte(`{"hitsPerPage":2,"page":1,"showRankingScore":true,"showRankingScoreDetails":true}`))
	out, _ = d.EncodeResponse(q, res)
	m = decodeJSON(t, out)
	if dig(m, "hits", 0, "_rankingScore") != 0.9842 || dig(m, "hits", 0, "_federation", "sources", 1, "shard") != "b" {
		t.Errorf("explain hit = %v", dig(m, "hits", 0))
	}
	if dig(m, "hitsPerPage") != 2.0 || dig(m, "page") != 1.0 || dig(m, "totalPages") == nil || dig(m, "limit") != nil {
		t.Errorf("paged head = %s", out)
	}
}

func TestMeiliEncodeError(t *testing.T) {
	d := meili(t)
	for _, tt := range []struct {
		e    Error
		code string
	}{
		{Error{Status: 400, Code: "invalid_search_q", Type: "invalid_request", Message: `bad "q"`}, "invalid_search_q"},
		{Error{Status: 503, Message: "too few shards"}, "shard_unavailable"},
		{Error{Status: 504, Message: "all timed out"}, "shard_timeout"},
		{Error{Status: 413, Message: "big"}, "payload_too_large"},
	} {
		m := decodeJSON(t, d.EncodeError(&tt.e))
		if m["code"] != tt.code || m["message"] != tt.e.Message || m["link"] != "https://docs.meilisearch.com/errors#"+tt.code || m["type"] == "" {
			t.Errorf("EncodeError(%+v) = %v", tt.e, m)
		}
	}
}

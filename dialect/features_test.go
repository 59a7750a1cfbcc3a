package dialect

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/searchfront/caddy-federate/merge"
)

// pairDialects are the client and shard dialects every cross-dialect
// feature is tested between.
var pairDialects = []string{esName, meiliName, solrName, tsName}

// featureRequest is a client request in dialect d: text "x", sorted by
// price descending, highlighting title whole.
func featureRequest(t *testing.T, d string) *Query {
	t.Helper()
	var method, target, body string
	switch d {
	case esName:
		method, target, body = "POST", "/idx/_search", `{"query":{"match":{"title":"x"}},"sort":[{"price":"desc"},"_score"],"highlight":{"fields":{"title":{"number_of_fragments":0}}}}`
	case meiliName:
		method, target, body = "POST", "/indexes/idx/search", `{"q":"x","sort":["price:desc"],"attributesToHighlight":["title"]}`
	case solrName:
		method, target = "GET", "/solr/idx/select?q=x&sort=price+desc,score+desc&hl=true&hl.fl=title&hl.fragsize=0"
	case tsName:
		method, target = "GET", "/collections/idx/documents/search?q=x&query_by=title&sort_by=price:desc,_text_match:desc&highlight_full_fields=title"
	}
	dl, _ := Lookup(d)
	q, err := dl.DecodeRequest(httptest.NewRequest(method, target, strings.NewReader(body)), []byte(body))
	if err != nil {
		t.Fatalf("%s: decode: %v", d, err)
	}
	q.Limit = 10
	return q
}

// shardAnswer is a shard's answer in dialect d to featureRequest: hits
// (id, price) in descending price order, each with title "hello x"
// highlighted with the tags pre/post. Elasticsearch's _source has no id.
func shardAnswer(d string, pre, post string, hits ...[2]any) []byte {
	frag := "hello " + pre + "x" + post
	fj, _ := json.Marshal(frag)
	var parts []string
	for _, h := range hits {
		id, price := h[0], h[1]
		switch d {
		case esName:
			parts = append(parts, fmt.Sprintf(`{"_index":"i","_id":%q,"_score":null,"_source":{"title":"hello x","price":%v},"highlight":{"title":[%s]},"sort":[%v,1.5]}`, id, price, fj, price))
		case meiliName:
			parts = append(parts, fmt.Sprintf(`{"id":%q,"title":"hello x","price":%v,"_formatted":{"id":%q,"title":%s,"price":"%v"},"_rankingScore":0.9}`, id, price, id, fj, price))
		case tsName:
			parts = append(parts, fmt.Sprintf(`{"document":{"id":%q,"title":"hello x","price":%v},"highlights":[{"field":"title","snippet":%s,"value":%s,"matched_tokens":["x"]}],"text_match":100}`, id, price, fj, fj))
		case solrName:
			parts = append(parts, fmt.Sprintf(`{"id":%q,"title":"hello x","price":%v,"score":1.2}`, id, price))
		}
	}
	list := strings.Join(parts, ",")
	n := len(hits)
	switch d {
	case esName:
		return []byte(fmt.Sprintf(`{"took":1,"timed_out":false,"hits":{"total":{"value":%d,"relation":"eq"},"hits":[%s]}}`, n, list))
	case meiliName:
		return []byte(fmt.Sprintf(`{"hits":[%s],"estimatedTotalHits":%d}`, list, n))
	case tsName:
		return []byte(fmt.Sprintf(`{"found":%d,"hits":[%s]}`, n, list))
	}
	var hl []string
	for _, h := range hits {
		hl = append(hl, fmt.Sprintf(`%q:{"title":[%s]}`, h[0], fj))
	}
	return []byte(fmt.Sprintf(`{"responseHeader":{"status":0},"response":{"numFound":%d,"docs":[%s]},"highlighting":{%s}}`, n, list, strings.Join(hl, ",")))
}

func shardTarget(d string) Target {
	idx := "idx"
	if d == tsName {
		idx = "idx?query_by=title"
	}
	return Target{Shard: "s-" + d, Index: idx, Limit: 10}
}

// translated reports whether a shard request of dialect d carries the
// sort on price (descending) and the highlighting of title.
func translated(t *testing.T, d string, req *Request) {
	t.Helper()
	s := string(req.Body) + " " + req.RawQuery
	var want []string
	switch d {
	case esName:
		want = []string{`"sort":[{"price":{"order":"desc"`, `"highlight":`, `"title":{"number_of_fragments":0}`}
	case meiliName:
		want = []string{`"sort":["price:desc"]`, `"attributesToHighlight":["title"]`}
	case solrName:
		want = []string{"sort=price+desc%2Cscore+desc", "hl=true", "hl.fl=title"}
	case tsName:
		want = []string{"sort_by=price%3Adesc%2C_text_match%3Adesc", "highlight_fields=title", "highlight_full_fields=title"}
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s shard request %s lacks %s", d, s, w)
		}
	}
}

// clientHits reads (id, highlighted title) of every hit of a client answer.
func clientHits(t *testing.T, d string, out []byte) (ids, titles []string) {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("%s answer is not JSON: %v\n%s", d, err, out)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	first := func(v any) string {
		if l, ok := v.([]any); ok && len(l) > 0 {
			return str(l[0])
		}
		return ""
	}
	switch d {
	case esName:
		for _, h := range a["hits"].(map[string]any)["hits"].([]any) {
			m := h.(map[string]any)
			hl, _ := m["highlight"].(map[string]any)
			ids, titles = append(ids, str(m["_id"])), append(titles, first(hl["title"]))
		}
	case meiliName:
		for _, h := range a["hits"].([]any) {
			m := h.(map[string]any)
			f, _ := m["_formatted"].(map[string]any)
			ids, titles = append(ids, str(m["id"])), append(titles, str(f["title"]))
		}
	case tsName:
		for _, h := range a["hits"].([]any) {
			m := h.(map[string]any)
			var title string
			for _, x := range m["highlights"].([]any) {
				if e := x.(map[string]any); e["field"] == "title" {
					title = str(e["snippet"])
				}
			}
			ids, titles = append(ids, str(m["document"].(map[string]any)["id"])), append(titles, title)
		}
	case solrName:
		hl, _ := a["highlighting"].(map[string]any)
		for _, h := range a["response"].(map[string]any)["docs"].([]any) {
			id := str(h.(map[string]any)["id"])
			m, _ := hl[id].(map[string]any)
			ids, titles = append(ids, id), append(titles, first(m["title"]))
		}
	}
	return ids, titles
}

// TestFeaturesEveryPair runs a sorted, highlighted search from a client of
// every dialect over two shards of every dialect: each shard request
// carries the sort and highlighting in the shard's terms, and the answer
// has every hit's id (an Elasticsearch _id included), the merged order by
// price and the highlighted title, in the client's shape and tags.
func TestFeaturesEveryPair(t *testing.T) {
	for _, c := range pairDialects {
		for _, s := range pairDialects {
			t.Run(c+"→"+s, func(t *testing.T) {
				q := featureRequest(t, c)
				if len(q.Sort) != 1 || q.Sort[0] != (merge.Order{Field: "price", Desc: true}) {
					t.Fatalf("sort decoded as %+v", q.Sort)
				}
				if q.Highlight == nil || !q.Highlight.wants("title") {
					t.Fatalf("highlight decoded as %+v", q.Highlight)
				}
				sd, _ := Lookup(s)
				req, err := BuildShardRequest(sd, q, shardTarget(s))
				if err != nil {
					t.Fatal(err)
				}
				if !sameFamily(c, s) {
					translated(t, s, req)
				}
				pre, post := q.Highlight.PreTag, q.Highlight.PostTag
				answers := [][]byte{
					shardAnswer(s, pre, post, [2]any{"a", 9}, [2]any{"c", 2}),
					shardAnswer(s, pre, post, [2]any{"b", 5}),
				}
				var lists []merge.List
				for i, ans := range answers {
					l, err := sd.DecodeResponse(ans, "")
					if err != nil {
						t.Fatalf("decode %s answer: %v", s, err)
					}
					l.Shard = fmt.Sprint("s", i)
					Annotate(sd, q, &l, "")
					lists = append(lists, l)
				}
				res := &Response{Result: merge.Sorted(lists, 0, q.Sort, merge.Options{Dedupe: true, Limit: 10}), Complete: true,
					Shards: []ShardReport{{Name: "s0", Status: StatusOK}, {Name: "s1", Status: StatusOK}}}
				cd, _ := Lookup(c)
				out, err := cd.EncodeResponse(q, res)
				if err != nil {
					t.Fatal(err)
				}
				ids, titles := clientHits(t, c, out)
				if strings.Join(ids, ",") != "a,b,c" {
					t.Fatalf("ids %v, want [a b c] (price descending)\n%s", ids, out)
				}
				for i, title := range titles {
					if want := "hello " + pre + "x" + post; title != want {
						t.Fatalf("hit %s: highlighted title %q, want %q\n%s", ids[i], title, want, out)
					}
				}
			})
		}
	}
}

// TestNativeOnlyRefused: hybrid and vector queries go to shards of the
// client's dialect as sent, and to no other: the 400 names the shard and
// the construct.
func TestNativeOnlyRefused(t *testing.T) {
	cases := []struct{ dialect, method, target, body, construct string }{
		{meiliName, "POST", "/indexes/idx/search", `{"q":"x","hybrid":{"embedder":"e","semanticRatio":0.5}}`, "hybrid"},
		{meiliName, "POST", "/indexes/idx/search", `{"vector":[0.1,0.2]}`, "vector"},
		{esName, "POST", "/idx/_search", `{"knn":{"field":"v","query_vector":[1,2],"k":3}}`, "knn"},
		{tsName, "GET", "/collections/idx/documents/search?q=*&query_by=title&vector_query=v:([0.1],k:3)", "", "vector_query"},
		{solrName, "GET", "/solr/idx/select?q={!knn+f%3Dv+topK%3D3}[1,2]", "", "local params"},
	}
	for _, c := range cases {
		d, _ := Lookup(c.dialect)
		q, err := d.DecodeRequest(httptest.NewRequest(c.method, c.target, strings.NewReader(c.body)), []byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.construct, err)
		}
		for _, s := range pairDialects {
			sd, _ := Lookup(s)
			_, err := BuildShardRequest(sd, q, shardTarget(s))
			if sameFamily(c.dialect, s) {
				if err != nil {
					t.Errorf("%s → %s shard: %v, want the query passed through", c.construct, s, err)
				}
				continue
			}
			e, ok := err.(*Error)
			if !ok || e.Status != 400 || !strings.Contains(e.Message, "s-"+s) || !strings.Contains(e.Message, c.construct) {
				t.Errorf("%s → %s shard: %v, want a 400 naming the shard and %s", c.construct, s, err, c.construct)
			}
		}
	}
}

// TestSortRefused: sorts no merge can reproduce are 400s in the client's
// dialect, not dropped.
func TestSortRefused(t *testing.T) {
	cases := []struct{ dialect, method, target, body string }{
		{meiliName, "POST", "/indexes/idx/search", `{"sort":["_geoPoint(1,2):asc"]}`},
		{esName, "POST", "/idx/_search", `{"sort":[{"price":{"order":"asc","missing":"_first"}}]}`},
		{esName, "POST", "/idx/_search", `{"sort":["_doc"]}`},
		{solrName, "GET", "/solr/idx/select?q=x&sort=geodist()+asc", ""},
		{tsName, "GET", "/collections/idx/documents/search?q=x&query_by=t&sort_by=_eval(a:1):desc", ""},
	}
	for _, c := range cases {
		d, _ := Lookup(c.dialect)
		_, err := d.DecodeRequest(httptest.NewRequest(c.method, c.target, strings.NewReader(c.body)), []byte(c.body))
		if e, ok := err.(*Error); !ok || e.Status != 400 {
			t.Errorf("%s %s %s: %v, want a 400", c.dialect, c.target, c.body, err)
		}
	}
}

// TestRelevanceSortIsNoSort: a sort by relevance alone merges by relevance.
func TestRelevanceSortIsNoSort(t *testing.T) {
	d, _ := Lookup(esName)
	body := `{"sort":["_score",{"price":"asc"}]}`
	q, err := d.DecodeRequest(httptest.NewRequest("POST", "/i/_search", strings.NewReader(body)), []byte(body))
	if err != nil || q.Sort != nil {
		t.Fatalf("sort %+v, err %v: want none", q.Sort, err)
	}
}

func TestSortValueTyped(t *testing.T) {
	cases := []struct {
		raw  string
		desc bool
		want merge.Value
	}{
		{`12.5`, false, merge.NumberValue(12.5)},
		{`"12.5"`, false, merge.StringValue("12.5")},
		{`[3,1,2]`, false, merge.NumberValue(1)},
		{`[3,1,2]`, true, merge.NumberValue(3)},
		{`null`, false, merge.Value{}},
		{`{"a":1}`, false, merge.Value{}},
		{`true`, false, merge.NumberValue(1)},
	}
	for _, c := range cases {
		if got := sortValue([]byte(c.raw), c.desc); got != c.want {
			t.Errorf("sortValue(%s, desc=%v) = %+v, want %+v", c.raw, c.desc, got, c.want)
		}
	}
	// An Elasticsearch hit whose _source lacks the field uses its sort array,
	// except for the sentinel Elasticsearch writes for a missing value.
	h := merge.Hit{Doc: []byte(`{}`), Native: []byte(`{"_id":"1","sort":[7,9223372036854775807]}`)}
	keys := sortKeys(esName, &h, []merge.Order{{Field: "a"}, {Field: "b"}})
	if keys[0] != merge.NumberValue(7) || keys[1].Kind != merge.Missing {
		t.Fatalf("keys %+v", keys)
	}
}

// searchkitBody is what @searchkit/api 4.14 sends for the text "web
// server" with the section facet refined to "net", highlighting title.
const searchkitBody = `{"aggs":{"section":{"terms":{"field":"section","size":10}},"tags":{"terms":{"field":"tags","size":10}}},"query":{"bool":{"filter":[{"bool":{"should":[{"term":{"section":"net"}}]}}],"must":{"bool":{"should":[{"bool":{"should":[{"multi_match":{"query":"web server","fields":["title^3","body"],"fuzziness":"AUTO:4,8"}},{"multi_match":{"query":"web server","fields":["title^1.5","body"],"type":"bool_prefix"}}]}},{"multi_match":{"query":"web server","type":"phrase","fields":["title^6","body"]}}]}}}},"size":5,"from":5,"_source":{"includes":["title","body","section"]},"highlight":{"pre_tags":["<em>"],"post_tags":["</em>"],"fields":{"title":{"number_of_fragments":0}}},"sort":{"_score":"desc"}}`

// TestSearchkitQueryTranslates: Searchkit's query (a bool of should of
// multi_match and bool_prefix over one text, refinements as a should of
// terms in a filter, terms aggregations, highlight, a relevance sort) decodes
// into the canonical query, so that Meilisearch shards can be asked.
func TestSearchkitQueryTranslates(t *testing.T) {
	d, _ := Lookup(esName)
	q, err := d.DecodeRequest(httptest.NewRequest("POST", "/docs/_search", strings.NewReader(searchkitBody)), []byte(searchkitBody))
	if err != nil {
		t.Fatal(err)
	}
	if q.RawFilter || q.Text != "web server" || q.Filter == nil || len(q.Filter.And) != 1 ||
		q.Filter.And[0].Field != "section" || strings.Join(q.Filter.And[0].Values, ",") != "net" {
		t.Fatalf("decoded text %q filter %+v raw %v", q.Text, q.Filter, q.RawFilter)
	}
	if q.Sort != nil || q.Highlight == nil || strings.Join(q.Highlight.Fields, ",") != "title" || len(q.NativeOnly) > 0 {
		t.Fatalf("sort %+v highlight %+v native-only %v", q.Sort, q.Highlight, q.NativeOnly)
	}
	req, err := BuildShardRequest(meilisearch{}, q, Target{Shard: "m", Index: "docs", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"q":"web server"`, `"filter":`, `section`, `"attributesToHighlight":["title"]`, `"facets":["section","tags"]`} {
		if !strings.Contains(string(req.Body), want) {
			t.Errorf("meilisearch shard body %s lacks %s", req.Body, want)
		}
	}
}

// TestShouldDisjunctions: should-only bools translate when they say one
// text or one field's values; anything else stays Elasticsearch-only.
func TestShouldDisjunctions(t *testing.T) {
	cases := []struct {
		query string
		fits  bool
	}{
		{`{"bool":{"should":[{"term":{"a":"1"}},{"terms":{"a":["2","3"]}}]}}`, true},
		{`{"bool":{"should":[{"term":{"a":"1"}},{"term":{"b":"2"}}]}}`, false},
		{`{"bool":{"should":[{"match":{"t":"x"}},{"match":{"t":"y"}}]}}`, false},
		{`{"bool":{"should":[{"match":{"t":"x"}},{"term":{"a":"1"}}]}}`, false},
		{`{"bool":{"must":[{"match":{"t":"x"}}],"should":[{"term":{"a":"1"}}]}}`, false},
		{`{"bool":{"should":[{"term":{"a":"1"}}],"minimum_should_match":2}}`, false},
	}
	for _, c := range cases {
		info, err := parseESQuery([]byte(c.query))
		if err != nil || info.fits != c.fits {
			t.Errorf("%s: fits %v err %v, want fits %v", c.query, info.fits, err, c.fits)
		}
	}
}

// TestSortDecodedEveryClient: the federate, Groonga and Solr JSON clients' sorts are
// decoded too (so they are merged and translated, not dropped).
func TestSortDecodedEveryClient(t *testing.T) {
	cases := []struct{ dialect, method, target, body string }{
		{federateName, "POST", "/search", `{"q":"x","sort":["price:desc","_score:desc"]}`},
		{federateName, "GET", "/search?q=x&sort=price:desc", ""},
		{grnName, "GET", "/d/select?table=Docs&query=x&sort_keys=-price,-_score", ""},
		{solrName, "POST", "/solr/c/select", `{"query":"x","sort":"price desc, score desc"}`},
	}
	for _, c := range cases {
		d, _ := Lookup(c.dialect)
		q, err := d.DecodeRequest(httptest.NewRequest(c.method, c.target, strings.NewReader(c.body)), []byte(c.body))
		if err != nil || len(q.Sort) != 1 || q.Sort[0] != (merge.Order{Field: "price", Desc: true}) {
			t.Errorf("%s %s %s: sort %+v, err %v", c.dialect, c.target, c.body, q, err)
		}
	}
}

// TestFormattedWithoutMatches: a Meilisearch client that asked for
// highlighting gets _formatted on every hit, also on another engine's hit
// without any highlighted field (InstantSearch adapters read it).
func TestFormattedWithoutMatches(t *testing.T) {
	q := &Query{Dialect: meiliName, Highlight: &Highlight{Fields: []string{"*"}}}
	h := &merge.Fused{Hit: merge.Hit{Doc: []byte(`{"title":"t"}`), DocID: "7"}}
	var doc map[string]any
	if err := json.Unmarshal(meiliDoc(q, h), &doc); err != nil {
		t.Fatal(err)
	}
	f, ok := doc["_formatted"].(map[string]any)
	if !ok || f["title"] != "t" || doc["id"] != "7" || f["id"] != "7" {
		t.Fatalf("doc %v", doc)
	}
}

// TestImplicitHighlightNotRefused: Typesense highlights its query_by fields
// unasked; a Groonga shard, which cannot highlight, is then asked without
// highlighting, while an explicit highlight_fields is refused for it.
func TestImplicitHighlightNotRefused(t *testing.T) {
	d, _ := Lookup(tsName)
	g, _ := Lookup(grnName)
	for _, c := range []struct {
		params string
		refuse bool
	}{{"q=x&query_by=title", false}, {"q=x&query_by=title&highlight_fields=title", true}} {
		q, err := d.DecodeRequest(httptest.NewRequest("GET", "/collections/c/documents/search?"+c.params, nil), nil)
		if err != nil || q.Highlight == nil {
			t.Fatalf("%s: %v %+v", c.params, err, q)
		}
		_, err = BuildShardRequest(g, q, Target{Shard: "g", Index: "Docs?match_columns=title", Limit: 10})
		if (err != nil) != c.refuse {
			t.Errorf("%s to a Groonga shard: %v, refused want %v", c.params, err, c.refuse)
		}
	}
}

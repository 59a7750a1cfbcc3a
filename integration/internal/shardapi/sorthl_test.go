package shardapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestESSortAndHighlight(t *testing.T) {
	q, err := ParseES([]byte(`{"query":{"match":{"title":"Web server"}},"sort":[{"section":{"order":"desc"}},"_score"],"highlight":{"pre_tags":["<b>"],"post_tags":["</b>"],"fields":{"title":{}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Sort) != 1 || q.Sort[0] != (SortField{Field: "section", Desc: true}) {
		t.Fatalf("sort %+v", q.Sort)
	}
	res := &Result{Total: 1, Hits: []Hit{{ID: "a", Score: 2, Source: json.RawMessage(`{"id":"a","title":"A web Server.","section":"net"}`)}}}
	out := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(EncodeES("docs", q, res, 1)))
	for _, want := range []string{`"highlight":{"title":["A <b>web</b> <b>Server</b>."]}`, `"sort":["net",2]`} {
		if !strings.Contains(out, want) {
			t.Errorf("answer %s lacks %s", out, want)
		}
	}
}

func TestMeiliSortAndFormatted(t *testing.T) {
	q, p, err := ParseMeili([]byte(`{"q":"web","sort":["section:asc"],"attributesToHighlight":["title"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Sort) != 1 || q.Sort[0].Field != "section" || q.Sort[0].Desc {
		t.Fatalf("sort %+v", q.Sort)
	}
	res := &Result{Total: 1, Hits: []Hit{{ID: "a", Score: 2, Source: json.RawMessage(`{"id":"a","title":"web tools"}`)}}}
	out := string(EncodeMeili(q, p, res, 1))
	if !strings.Contains(out, `"_formatted":{"id":"a","title":"\u003cem\u003eweb\u003c/em\u003e tools"}`) && !strings.Contains(out, `"title":"<em>web</em> tools"`) {
		t.Fatalf("answer %s lacks a highlighted _formatted title", out)
	}
}

package dialect

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestValidIndex(t *testing.T) {
	for _, ok := range []string{"books", "Books-2024", "acme_docs", "a.b", "0", strings.Repeat("a", 255)} {
		if err := ValidIndex(ok); err != nil {
			t.Errorf("ValidIndex(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"", ".security", "_all", "-x", "logs-*", "*", "a,b", "remote:idx", "..", "a..b", "a/b",
		"a?fq=x", "a#b", "a%3Fb", "a b", "a&b", "a=b", "a\x00", "é", strings.Repeat("a", 256)} {
		err := ValidIndex(bad)
		if err == nil {
			t.Errorf("ValidIndex(%q) = nil, want an error", bad)
			continue
		}
		if e := err.(*Error); e.Status != http.StatusBadRequest || e.Code != "invalid_index_name" {
			t.Errorf("ValidIndex(%q) = %+v, want a 400 invalid_index_name", bad, e)
		}
	}
}

// TestPinnedParamsAreEnforced: the attack (before): a client's own
// filter_by/fq/filter replaced the tenant filter an operator pinned in the
// shard's index string, and other pinned parameters were only defaults.
// Safe: both filters must hold, and pinned parameters win.
func TestPinnedParamsAreEnforced(t *testing.T) {
	get := func(t *testing.T, d Dialect, q *Query, index string) url.Values {
		t.Helper()
		r, err := d.BuildRequest(q, Target{Shard: "s", Index: index, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		raw := r.RawQuery
		if r.Method == http.MethodPost && raw == "" {
			raw = string(r.Body)
		}
		p, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("typesense", func(t *testing.T) {
		q := &Query{Dialect: tsName, Params: url.Values{"q": {"x"}, "query_by": {"secret_notes"}, "filter_by": {"tenant:=evil"}}}
		p := get(t, typesense{}, q, "docs?query_by=title&filter_by=tenant:=acme")
		if p.Get("filter_by") != "(tenant:=evil) && (tenant:=acme)" || p.Get("query_by") != "title" {
			t.Errorf("filter_by %q query_by %q", p.Get("filter_by"), p.Get("query_by"))
		}
		q.Params["filter_by"] = []string{"x:=1) || (tenant:=evil"}
		if _, err := (typesense{}).BuildRequest(q, Target{Shard: "s", Index: "docs?query_by=title&filter_by=tenant:=acme", Limit: 10}); err == nil {
			t.Error("a filter that closes the group was accepted")
		}
		q.Params["filter_by"] = []string{"title:=`a)b`"}
		if p := get(t, typesense{}, q, "docs?query_by=title&filter_by=tenant:=acme"); p.Get("filter_by") != "(title:=`a)b`) && (tenant:=acme)" {
			t.Errorf("quoted parenthesis: %q", p.Get("filter_by"))
		}
	})
	t.Run("solr", func(t *testing.T) {
		q := &Query{Dialect: solrName, Method: http.MethodGet, Params: url.Values{"q": {"x"}, "fq": {"tenant:evil"}, "qf": {"secret"}}}
		p := get(t, solr{}, q, "docs?fq=tenant:acme&qf=title")
		if strings.Join(p["fq"], "|") != "tenant:evil|tenant:acme" || p.Get("qf") != "title" {
			t.Errorf("fq %q qf %q", p["fq"], p["qf"])
		}
		p = get(t, solr{}, &Query{Dialect: "federate", Text: "x", Filter: &Filter{And: []Clause{{Field: "tenant", Values: []string{"evil"}}}}}, "docs?fq=tenant:acme")
		if len(p["fq"]) != 2 || p["fq"][1] != "tenant:acme" {
			t.Errorf("translated fq %q", p["fq"])
		}
	})
	t.Run("groonga", func(t *testing.T) {
		q := &Query{Dialect: grnName, Params: url.Values{"table": {"Docs"}, "filter": {`tenant == "evil"`}}}
		p := get(t, groonga{}, q, `Docs?filter=tenant == "acme"`)
		if p.Get("filter") != `(tenant == "evil") && (tenant == "acme")` {
			t.Errorf("filter %q", p.Get("filter"))
		}
		q.Params["filter"] = []string{`true) || (true`}
		if _, err := (groonga{}).BuildRequest(q, Target{Shard: "s", Index: `Docs?filter=tenant == "acme"`, Limit: 10}); err == nil {
			t.Error("a filter that closes the group was accepted")
		}
		q.Params["filter"] = []string{`a == "x\") || (true || "`}
		if _, err := (groonga{}).BuildRequest(q, Target{Shard: "s", Index: `Docs?filter=tenant == "acme"`, Limit: 10}); err == nil {
			t.Error("a filter that closes the group was accepted")
		}
	})
}

// topLevelOr reports whether s has an || outside every group and quote:
// a joined filter with one would let the client's part escape the AND.
func topLevelOr(s, quotes string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case strings.IndexByte(quotes, c) >= 0:
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0 && i+1 < len(s) && s[i+1] == '|':
			return true
		}
	}
	return false
}

// FuzzIndexAndFilter: a name ValidIndex accepts never needs escaping in a
// path or a query (so it cannot add a path segment or parameter), and a
// client filter andScript accepts stays inside its group.
func FuzzIndexAndFilter(f *testing.F) {
	for _, s := range []string{"books", ".security", "a%3Fb", "x:=1) || (tenant:=evil", "title:=`a)b`", `a == "x\"" || (b`, "((a)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidIndex(s) == nil {
			if url.PathEscape(s) != s || url.QueryEscape(s) != s || strings.ContainsAny(s, "?#/*:,") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "_") {
				t.Fatalf("ValidIndex accepted %q", s)
			}
		}
		for _, quotes := range []string{"`", `"'`} {
			joined, err := andScript(quotes)(s, "tenant:=acme")
			if err == nil && strings.TrimSpace(s) != "" && topLevelOr(joined, quotes) {
				t.Fatalf("client filter %q escaped the AND: %q", s, joined)
			}
		}
	})
}

package dialect

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// slowCount is rawCount's definition: what encoding/json reads as a
// non-negative int32.
func slowCount(raw []byte) (int, bool) {
	var n int64
	if json.Unmarshal(raw, &n) != nil || n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// FuzzRawCountAndPlainString checks the fast paths of request decoding
// against encoding/json: rawCount reads what json.Unmarshal reads as a
// count, and plainString, when it answers, the string json.Unmarshal
// decodes.
func FuzzRawCountAndPlainString(f *testing.F) {
	for _, s := range []string{`10`, `0`, `01`, `-1`, `1e2`, `2147483647`, `2147483648`, `999999999`, `1.0`, ` 7`,
		`"abc"`, `"a\"b"`, `"é"`, "\"\xff\"", "\"a\x01\"", `"\u0041"`, `""`, `"`, `"a"b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, ok := rawCount(raw)
		wn, wok := slowCount(raw)
		if n != wn || ok != wok {
			t.Fatalf("rawCount(%q) = %d, %v; encoding/json reads %d, %v", raw, n, ok, wn, wok)
		}
		if !validJSON(raw) {
			return // plainString is only given validated JSON
		}
		if s, ok := plainString(raw); ok {
			var want string
			if err := json.Unmarshal(raw, &want); err != nil || s != want {
				t.Fatalf("plainString(%q) = %q; encoding/json decodes %q (%v)", raw, s, want, err)
			}
		}
	})
}

func TestMeiliIndexFromPath(t *testing.T) {
	for p, want := range map[string]string{
		"/indexes/docs/search":            "docs",
		"/search/indexes/a%2Fb/search":    "a/b",
		"/x/y/z/w/v/u/t/indexes/d/search": "d", // more segments than the stack buffer
		"/indexes/docs":                   "docs",
		"/docs/search":                    "",
	} {
		if got := meiliIndex(p); got != want {
			t.Errorf("meiliIndex(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestLastSegmentsIsTailOfSplit: lastSegments, which splits only the end of
// the path, returns the last n segments of the whole split.
func TestLastSegmentsIsTailOfSplit(t *testing.T) {
	for _, p := range []string{"", "/", "//", "/a", "a", "a/b", "/a/b/c", "/a//b///c/", "/indexes/docs/search",
		"indexes/docs/search/", "///x", "/a/b/c/d/e/f", "/collections/c/documents/search"} {
		for n := 1; n <= 4; n++ {
			want := pathSegments(p)
			if len(want) > n {
				want = want[len(want)-n:]
			}
			got := lastSegments(p, n)
			if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
				t.Errorf("lastSegments(%q, %d) = %q, want %q", p, n, got, want)
			}
		}
	}
}

// TestAppendResponseEqualsEncode: every ResponseAppender writes into a
// reused, dirty buffer exactly what EncodeResponse returns.
func TestAppendResponseEqualsEncode(t *testing.T) {
	for _, name := range []string{"meilisearch", "elasticsearch", "opensearch", "solr", "typesense", "federate"} {
		d, ok := Lookup(name)
		if !ok {
			t.Fatalf("no dialect %s", name)
		}
		a, ok := d.(ResponseAppender)
		if !ok {
			continue
		}
		l, err := d.DecodeResponse(answer100(name), "")
		if err != nil {
			// answer100 writes only some dialects' shapes: encode a
			// Meilisearch answer's hits in this dialect instead.
			if l, err = (meilisearch{}).DecodeResponse(answer100("meilisearch"), ""); err != nil {
				t.Fatal(err)
			}
		}
		l.Shard = "a"
		res := &Response{Result: merge.Merge([]merge.List{l}, 0, merge.Options{Limit: 20}), Took: time.Millisecond,
			Shards: []ShardReport{{Name: "a", Status: StatusOK}, {Name: "b", Status: StatusTimeout, Reason: "late"}}}
		for _, q := range []*Query{
			{Dialect: name, Limit: 20, HasLimit: true},
			{Dialect: name, Limit: 20, HasLimit: true, Explain: true, Display: Display{ShowScore: true}},
			{Dialect: name, Offset: 5, Limit: 3, HasLimit: true, Facets: []string{"genre"}},
		} {
			want, err := d.EncodeResponse(q, res)
			if err != nil {
				t.Fatal(err)
			}
			dirty := bytes.Repeat([]byte("x"), 64<<10)
			got, err := a.AppendResponse(dirty, q, res)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: AppendResponse into a used buffer differs from EncodeResponse (%v):\n%s\n%s", name, err, got, want)
			}
		}
	}
}

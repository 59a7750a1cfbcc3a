package caddyfederate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestClientIndexNames: the attack (before): a shard without `index`
// searched whatever the client named (.security, _all, a wildcard, a
// remote cluster), a %3F in the name added query parameters, names were
// escaped twice, and an Elasticsearch shard without index searched
// /_search. Safe: such names are a 400 in the client's dialect before any
// shard is asked, a plain name reaches the shard escaped once, and
// allow_indexes limits the names to a list.
func TestClientIndexNames(t *testing.T) {
	free := newFakeEngine(t, "meilisearch", fakeHit{"x", 1, ""})
	listed := newFakeEngine(t, "meilisearch", fakeHit{"y", 1, ""})
	url := startCaddy(t, meiliSite("\t\tdedupe off\n\t\tcoalesce off",
		shardLine("free", free),
		shardLine("listed", listed, "\t\t\tallow_indexes books acme-*"),
	))
	for _, bad := range []string{".security", "_all", "logs-%2A", "remote:idx", "a%2Cb", "a%3Fq%3D1", "a..b", "%20x", "a%2F..%2Fkeys"} {
		resp, out := search(t, url+"/indexes/"+bad+"/search", `{"q":"a"}`)
		// a%2F..%2Fkeys decodes to a path that is not a search route at
		// all: the engine's own 404, as Meilisearch answers it.
		if bad == "a%2F..%2Fkeys" {
			if resp.StatusCode != 404 || out["code"] != "not_found" {
				t.Errorf("index %s: status %d %v, want 404 not_found", bad, resp.StatusCode, out)
			}
			continue
		}
		if resp.StatusCode != 400 || out["code"] != "invalid_index_name" {
			t.Errorf("index %s: status %d %v, want 400 invalid_index_name", bad, resp.StatusCode, out)
		}
	}
	if n := len(free.requests()) + len(listed.requests()); n != 0 {
		t.Fatalf("shards saw %d requests for refused names", n)
	}
	resp, out := search(t, url+"/indexes/other/search", `{"q":"a"}`)
	if resp.StatusCode != 404 {
		t.Errorf("index outside allow_indexes: status %d %v, want 404", resp.StatusCode, out)
	}
	for _, good := range []string{"books", "acme-2024.v1"} {
		resp, out := search(t, url+"/indexes/"+good+"/search", `{"q":"a"}`)
		if resp.StatusCode != 200 || len(hitIDs(t, out)) != 2 {
			t.Errorf("index %s: status %d %v", good, resp.StatusCode, out)
		}
	}
	for _, r := range append(free.requests(), listed.requests()...) {
		if r.Path != "/indexes/books/search" && r.Path != "/indexes/acme-2024.v1/search" {
			t.Errorf("shard saw path %q", r.Path)
		}
	}
}

// TestPinnedIndexEscapedOnce: an operator's index with a character that
// needs escaping reaches the engine as the operator wrote it (escaped
// once on the wire, not %2520).
func TestPinnedIndexEscapedOnce(t *testing.T) {
	e := newFakeEngine(t, "meilisearch", fakeHit{"x", 1, ""})
	url := startCaddy(t, meiliSite("", shardLine("a", e, "\t\t\tindex \"my docs\"")))
	resp, out := search(t, url+"/indexes/anything/search", `{"q":"a"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %v", resp.StatusCode, out)
	}
	if rs := e.requests(); len(rs) != 1 || rs[0].Path != "/indexes/my docs/search" {
		t.Errorf("engine saw %+v, want path /indexes/my docs/search", rs)
	}
}

func TestAllowIndexesWithIndexIsAnError(t *testing.T) {
	e := newFakeEngine(t, "meilisearch")
	cf := "{\n\tadmin off\n}\nhttp://127.0.0.1:" + strconv.Itoa(freePort(t)) + " {\n" +
		meiliSite("", shardLine("a", e, "\t\t\tindex x", "\t\t\tallow_indexes y")) + "\n}\n"
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err == nil || !strings.Contains(err.Error(), "allow_indexes") {
		t.Errorf("load = %v, want an error naming allow_indexes", err)
	}
}

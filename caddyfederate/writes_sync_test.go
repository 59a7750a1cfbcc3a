package caddyfederate

// Write routes of the dialects that answer synchronously: Elasticsearch
// _bulk, Typesense import, Solr update.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// esSite is an Elasticsearch route with writes over the fake shards.
func esSite(shards [][]*fakeMeili) string {
	return strings.Replace(writeSite("route", shards), "dialect meilisearch", "dialect elasticsearch", 1)
}

// TestWritesBulk: an Elasticsearch _bulk is split by owner, sent to every
// replica, and answered item by item in the client's order; an item that
// failed on its shard is an error item, and a replica that cannot be
// reached turns its shard's items into errors naming it by position.
func TestWritesBulk(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, esSite(shards))
	t.Cleanup(func() { clearStale("w", "", "") })
	var b strings.Builder
	ids := []string{"9", "3", "x", "1", "7", "5", "bad", "2"}
	for _, id := range ids {
		doc := `{"title":"t"}`
		if id == "bad" {
			doc = `{"fail":true}`
		}
		fmt.Fprintf(&b, "{\"index\":{\"_index\":\"docs\",\"_id\":%q}}\n%s\n", id, doc)
	}
	b.WriteString("{\"delete\":{\"_index\":\"docs\",\"_id\":\"3\"}}\n")
	b.WriteString("{\"index\":{\"_index\":\"docs\"}}\n{\"title\":\"no id: generated\"}\n")
	bulk := func() (int, map[string]any) {
		t.Helper()
		return doJSON(t, http.MethodPost, url+"/_bulk", b.String())
	}
	st, out := bulk()
	items, _ := out["items"].([]any)
	if st != 200 || out["errors"] != true || len(items) != len(ids)+2 {
		t.Fatalf("_bulk: %d %v", st, out)
	}
	for i, id := range ids {
		item := items[i].(map[string]any)["index"].(map[string]any)
		wantStatus := float64(201)
		if id == "bad" {
			wantStatus = 400
		}
		if item["_id"] != id || item["status"] != wantStatus {
			t.Errorf("item %d: %v, want id %s status %v", i, item, id, wantStatus)
		}
	}
	if del := items[len(ids)].(map[string]any)["delete"].(map[string]any); del["_id"] != "3" || del["status"] != float64(200) {
		t.Errorf("delete item %v", del)
	}
	gen := items[len(ids)+1].(map[string]any)["index"].(map[string]any)
	genID, _ := gen["_id"].(string)
	if len(genID) != 20 {
		t.Errorf("generated id %q", genID)
	}
	names := []string{"s0", "s1"}
	for _, id := range append(slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == "3" || s == "bad" }), genID) {
		o := owner(names, id)
		for si, reps := range shards {
			for _, rep := range reps {
				if has := slices.Contains(rep.ids(), id); has != (si == o) {
					t.Errorf("document %s on s%d: %v, owner s%d", id, si, has, o)
				}
			}
		}
	}

	// One replica of s1 down: s1's items fail, s0's do not.
	shards[1][1].set(func(f *fakeMeili) { f.down = true })
	_, out = bulk()
	items, _ = out["items"].([]any)
	for i, id := range ids {
		item := items[i].(map[string]any)["index"].(map[string]any)
		if owner(names, id) == 1 {
			e, _ := item["error"].(map[string]any)
			if item["status"] != float64(503) || e == nil || !strings.Contains(e["reason"].(string), `shard "s1" replica 2 of 2`) ||
				strings.Contains(e["reason"].(string), "127.0.0.1") {
				t.Errorf("item %s on the shard with a replica down: %v", id, item)
			}
		} else if id != "bad" && item["status"] != float64(201) {
			t.Errorf("item %s on the healthy shard: %v", id, item)
		}
	}
	if !isStale("w", "s1", shards[1][1].addr()) {
		t.Errorf("the replica that missed the bulk is not stale")
	}
}

// TestWritesTypesenseImport: an import answers one result line per
// document in the client's order, each from the shard that took it;
// documents without an id get one and are placed by it; a shard with a
// replica down fails its lines, naming the replica by position.
func TestWritesTypesenseImport(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, strings.Replace(writeSite("route", shards), "dialect meilisearch", "dialect typesense", 1))
	t.Cleanup(func() { clearStale("w", "", "") })
	lines := []string{`{"id":"a","t":1}`, `{"id":"b","fail":true}`, `not json`, `{"t":"no id"}`, `{"id":"c"}`, `{"id":"d"}`, `{"id":"e"}`}
	imp := func() []map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+"/collections/docs/documents/import?action=upsert", strings.NewReader(strings.Join(lines, "\n")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out []map[string]any
		for _, l := range strings.Split(string(raw), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("result line %q: %v", l, err)
			}
			out = append(out, m)
		}
		if resp.StatusCode != 200 || len(out) != len(lines) {
			t.Fatalf("import: %d, %d result lines for %d documents: %s", resp.StatusCode, len(out), len(lines), raw)
		}
		return out
	}
	res := imp()
	for i, want := range []bool{true, false, false, true, true, true, true} {
		if res[i]["success"] != want {
			t.Errorf("line %d (%s): %v, want success %v", i, lines[i], res[i], want)
		}
	}
	names := []string{"s0", "s1"}
	var generated string
	for _, id := range slices.Concat(shards[0][0].ids(), shards[1][0].ids()) {
		if !strings.Contains("a c d e", id) {
			generated = id
		}
	}
	for _, id := range []string{"a", "c", "d", "e", generated} {
		o := owner(names, id)
		for si, reps := range shards {
			for _, rep := range reps {
				if has := slices.Contains(rep.ids(), id); has != (si == o) {
					t.Errorf("document %q on s%d: %v, owner s%d", id, si, has, o)
				}
			}
		}
	}
	shards[0][0].set(func(f *fakeMeili) { f.down = true })
	res = imp()
	for i, id := range []string{"a", "", "", "", "c", "d", "e"} {
		if id == "" {
			continue
		}
		onDown := owner(names, id) == 0
		if msg, _ := res[i]["error"].(string); onDown && (res[i]["success"] != false || !strings.Contains(msg, `shard "s0" replica 1 of 2`)) {
			t.Errorf("line %d on the shard with a replica down: %v", i, res[i])
		} else if !onDown && res[i]["success"] != true {
			t.Errorf("line %d on the healthy shard: %v", i, res[i])
		}
	}
}

// TestWritesSolrUpdate: an array of documents is split by owner, deletes
// by id reach only the owner, a commit reaches every replica, and a
// replica down fails the update with a Solr error naming its position.
func TestWritesSolrUpdate(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, strings.Replace(writeSite("route", shards), "dialect meilisearch", "dialect solr", 1))
	t.Cleanup(func() { clearStale("w", "", "") })
	st, out := doJSON(t, http.MethodPost, url+"/solr/docs/update", docsBody(0, 30))
	if st != 200 || out["responseHeader"].(map[string]any)["status"] != float64(0) {
		t.Fatalf("update: %d %v", st, out)
	}
	names := []string{"s0", "s1"}
	if st, out = doJSON(t, http.MethodPost, url+"/solr/docs/update?commit=true", `{"delete":["1","2"]}`); st != 200 {
		t.Fatalf("delete: %d %v", st, out)
	}
	for i := 0; i < 30; i++ {
		id := fmt.Sprint(i)
		o := owner(names, id)
		for si, reps := range shards {
			for _, rep := range reps {
				if has := slices.Contains(rep.ids(), id); has != (si == o && i != 1 && i != 2) {
					t.Errorf("document %s on s%d: %v, owner s%d", id, si, has, o)
				}
			}
		}
	}
	for _, r := range slices.Concat(shards...) {
		r.set(func(f *fakeMeili) { f.paths = nil })
	}
	if st, _ = doJSON(t, http.MethodPost, url+"/solr/docs/update?commit=true", ``); st != 200 {
		t.Fatalf("commit: %d", st)
	}
	for _, r := range slices.Concat(shards...) {
		if len(r.paths) != 1 {
			t.Errorf("a replica saw %v for the commit", r.paths)
		}
	}
	shards[1][0].set(func(f *fakeMeili) { f.down = true })
	st, out = doJSON(t, http.MethodPost, url+"/solr/docs/update", docsBody(30, 60))
	if msg := fmt.Sprint(out["error"]); st != http.StatusBadGateway || !strings.Contains(msg, `shard \"s1\" replica 1 of 2`) && !strings.Contains(msg, `shard "s1" replica 1 of 2`) {
		t.Errorf("update with a replica down: %d %v", st, out)
	}
}

package caddyfederate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// waitTask polls GET /tasks/{uid} as a client's waitForTask does.
func waitTask(t testing.TB, url string, uid any) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, task := doJSON(t, http.MethodGet, fmt.Sprintf("%s/tasks/%v", url, uid), "")
		if st != 200 {
			t.Fatalf("GET /tasks/%v: %d %v", uid, st, task)
		}
		if s := task["status"]; s != "enqueued" && s != "processing" {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %v still %v", uid, task["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func docsBody(from, to int) string {
	var docs []string
	for i := from; i < to; i++ {
		docs = append(docs, fmt.Sprintf(`{"id":%d,"title":"doc %d","tag":"t%d"}`, i, i, i%3))
	}
	return "[" + strings.Join(docs, ",") + "]"
}

// TestWritesRoute: documents added through a 2 shards × 2 replicas route
// land on exactly the shard placement names and on both its replicas; the
// task succeeds once every part has; deletes by id reach only the owner;
// settings reach every replica.
func TestWritesRoute(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, writeSite("route", shards))
	st, sum := doJSON(t, http.MethodPost, url+"/indexes/movies/documents", docsBody(0, 200))
	if st != http.StatusAccepted || sum["type"] != "documentAdditionOrUpdate" || sum["status"] != "enqueued" {
		t.Fatalf("add documents: %d %v", st, sum)
	}
	task := waitTask(t, url, sum["taskUid"])
	if task["status"] != "succeeded" || task["indexUid"] != "movies" || task["uid"] != sum["taskUid"] {
		t.Fatalf("task %v", task)
	}
	names := []string{"s0", "s1"}
	for i := 0; i < 200; i++ {
		id := fmt.Sprint(i)
		o := owner(names, id)
		for si, reps := range shards {
			for ri, rep := range reps {
				if has := slices.Contains(rep.ids(), id); has != (si == o) {
					t.Fatalf("document %s on shard s%d replica %d: %v; placement says s%d", id, si, ri, has, o)
				}
			}
		}
	}
	if n0, n1 := len(shards[0][0].ids()), len(shards[1][0].ids()); n0+n1 != 200 || n0 < 70 || n1 < 70 {
		t.Errorf("shards hold %d and %d documents", n0, n1)
	}

	// delete-batch and delete by id go only to the owners.
	for _, r := range slices.Concat(shards...) {
		r.set(func(f *fakeMeili) { f.paths = nil })
	}
	st, sum = doJSON(t, http.MethodPost, url+"/indexes/movies/documents/delete-batch", `[1,2,3,"4"]`)
	if st != 202 || waitTask(t, url, sum["taskUid"])["status"] != "succeeded" {
		t.Fatalf("delete-batch: %d %v", st, sum)
	}
	st, sum = doJSON(t, http.MethodDelete, url+"/indexes/movies/documents/5", "")
	if st != 202 || waitTask(t, url, sum["taskUid"])["type"] != "documentDeletion" {
		t.Fatalf("delete: %d %v", st, sum)
	}
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		o := owner(names, id)
		for _, rep := range shards[o] {
			if slices.Contains(rep.ids(), id) {
				t.Errorf("document %s still on its owner s%d", id, o)
			}
		}
	}
	if paths := shards[owner(names, "5")^1][0].paths; slices.Contains(paths, "DELETE /indexes/movies/documents/5") {
		t.Errorf("the shard that does not own 5 was sent its delete: %v", paths)
	}

	// Settings go to every replica of every shard.
	st, sum = doJSON(t, http.MethodPatch, url+"/indexes/movies/settings", `{"filterableAttributes":["tag"]}`)
	if st != 202 || sum["type"] != "settingsUpdate" || waitTask(t, url, sum["taskUid"])["status"] != "succeeded" {
		t.Fatalf("settings: %d %v", st, sum)
	}
	for si, reps := range shards {
		for ri, rep := range reps {
			if len(rep.settings) != 1 || !strings.Contains(rep.settings[0], "filterableAttributes") {
				t.Errorf("shard s%d replica %d settings %v", si, ri, rep.settings)
			}
		}
	}
	// GET /tasks lists them, newest first.
	st, list := doJSON(t, http.MethodGet, url+"/tasks?limit=2", "")
	res, _ := list["results"].([]any)
	if st != 200 || len(res) != 2 || res[0].(map[string]any)["type"] != "settingsUpdate" || list["next"] == nil {
		t.Errorf("GET /tasks: %d %v", st, list)
	}
}

// TestWritesReplicaDown: a write that cannot reach one replica is
// reported failed, naming the shard and the replica's position but not
// its address; the replica leaves the search rotation until it is cleared.
func TestWritesReplicaDown(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, writeSite("route", shards))
	t.Cleanup(func() { clearStale("w", "", "") })
	down := shards[0][1]
	down.set(func(f *fakeMeili) { f.down = true })
	st, sum := doJSON(t, http.MethodPost, url+"/indexes/movies/documents", docsBody(0, 50))
	if st != 202 {
		t.Fatalf("add: %d %v", st, sum)
	}
	task := waitTask(t, url, sum["taskUid"])
	e, _ := task["error"].(map[string]any)
	if task["status"] != "failed" || e == nil {
		t.Fatalf("task %v, want failed", task)
	}
	if msg := e["message"].(string); !strings.Contains(msg, `shard "s0" replica 2 of 2`) || strings.Contains(msg, down.addr()) || strings.Contains(msg, "127.0.0.1") {
		t.Errorf("error %q: want the shard and replica position, no address", msg)
	}
	if !isStale("w", "s0", down.addr()) || isStale("w", "s0", shards[0][0].addr()) {
		t.Fatalf("stale: down %v, healthy %v", isStale("w", "s0", down.addr()), isStale("w", "s0", shards[0][0].addr()))
	}
	// The replica comes back with old data: searches must not use it.
	down.set(func(f *fakeMeili) { f.down = false })
	for i := 0; i < 6; i++ {
		_, out := search(t, url+"/indexes/movies/search", `{"q":""}`)
		if got := out["estimatedTotalHits"]; got != float64(50) {
			t.Fatalf("search %d: %v hits, want 50 (a stale replica answered)", i, got)
		}
	}
	// Cleared after a resync, it serves again.
	if got := clearStale("w", "s0", "2"); len(got) != 1 {
		t.Fatalf("clear by position cleared %v", got)
	}
	seen := false
	for i := 0; i < 6 && !seen; i++ {
		_, out := search(t, url+"/indexes/movies/search", `{"q":""}`)
		seen = out["estimatedTotalHits"] != float64(50)
	}
	if !seen {
		t.Errorf("the cleared replica never served a search")
	}
}

// TestWritesBroadcast: the older `broadcast` flag sends every document
// to every replica of every shard.
func TestWritesBroadcast(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	site := strings.Replace(writeSite("broadcast", shards), "writes broadcast", "broadcast", 1)
	url := startCaddy(t, site)
	st, sum := doJSON(t, http.MethodPut, url+"/indexes/movies/documents", docsBody(0, 10))
	if st != 202 || waitTask(t, url, sum["taskUid"])["status"] != "succeeded" {
		t.Fatalf("add: %d %v", st, sum)
	}
	for si, reps := range shards {
		for ri, rep := range reps {
			if n := len(rep.ids()); n != 10 {
				t.Errorf("shard s%d replica %d holds %d documents, want all 10", si, ri, n)
			}
		}
	}
}

// TestWritesBadInput: rejected before anything is sent, in Meilisearch's
// error shape.
func TestWritesBadInput(t *testing.T) {
	shards := fakeShards(t, 1, 2)
	url := startCaddy(t, writeSite("route", shards))
	for _, c := range []struct{ method, path, body, code string }{
		{"POST", "/indexes/movies/documents", `[{"title":"no id"}]`, "missing_document_id"},
		{"POST", "/indexes/movies/documents", `[{"id":{"a":1}}]`, "invalid_document_id"},
		{"POST", "/indexes/movies/documents", `[{"id":1}`, "malformed_payload"},
		{"POST", "/indexes/movies/documents/delete-batch", `{"ids":1}`, "malformed_payload"},
		{"GET", "/tasks/abc", ``, "invalid_task_uid"},
		{"GET", "/tasks/99999", ``, "task_not_found"},
	} {
		st, out := doJSON(t, c.method, url+c.path, c.body)
		if st < 400 || out["code"] != c.code {
			t.Errorf("%s %s %s: %d %v, want code %s", c.method, c.path, c.body, st, out, c.code)
		}
	}
	if n := len(shards[0][0].paths); n != 0 {
		t.Errorf("rejected writes reached a replica: %v", shards[0][0].paths)
	}
}

// TestWritesTaskBoundedAndReload: a part whose task never finishes fails
// the task once write_timeout has passed (never processing forever) and
// leaves its replica stale; task ids and their outcome survive a reload
// that removes a shard.
func TestWritesTaskBoundedAndReload(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, writeSite("route", shards, "\t\twrite_timeout 400ms"))
	t.Cleanup(func() { clearStale("w", "", "") })
	st, sum := doJSON(t, http.MethodPost, url+"/indexes/movies/documents", docsBody(0, 20))
	if st != 202 || waitTask(t, url, sum["taskUid"])["status"] != "succeeded" {
		t.Fatalf("add: %d %v", st, sum)
	}
	done := sum["taskUid"]
	stuck := shards[1][1]
	stuck.set(func(f *fakeMeili) { f.stuck = true })
	start := time.Now()
	_, sum = doJSON(t, http.MethodPost, url+"/indexes/movies/documents", docsBody(20, 40))
	task := waitTask(t, url, sum["taskUid"])
	e, _ := task["error"].(map[string]any)
	if task["status"] != "failed" || e == nil || e["code"] != "federate_write_timeout" || !strings.Contains(e["message"].(string), `shard "s1" replica 2 of 2`) {
		t.Fatalf("stuck part: %v", task)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the failure took %v with write_timeout 400ms", took)
	}
	if !isStale("w", "s1", stuck.addr()) {
		t.Errorf("the replica whose task never finished is not stale")
	}

	// Reload without shard s1: both tasks are still known, with their outcome.
	url = startCaddy(t, writeSite("route", shards[:1]))
	for uid, want := range map[any]string{done: "succeeded", sum["taskUid"]: "failed"} {
		if got := waitTask(t, url, uid)["status"]; got != want {
			t.Errorf("task %v after the reload: %v, want %s", uid, got, want)
		}
	}
}

// TestWritesCaddyfile: the writes options and their errors.
func TestWritesCaddyfile(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"writes route sku\n\t\twrite_timeout 5s", `"writes":{"id_field":"sku","mode":"route","timeout":5000000000}`},
		{"writes broadcast", `"writes":{"mode":"broadcast"}`},
		{"broadcast", `"broadcast":true`},
	} {
		got := adaptFederate(t, c.in)
		if !strings.Contains(got, c.want) {
			t.Errorf("%q adapts to %s, want %s", c.in, got, c.want)
		}
	}
	for _, in := range []string{"writes", "writes sideways", "writes broadcast now", "writes route a b", "write_timeout -1s"} {
		if err := adaptFederateErr(in); err == nil {
			t.Errorf("%q adapts without error", in)
		}
	}
}

// adaptFederate adapts a federate block with opts and returns its JSON.
func adaptFederate(t *testing.T, opts string) string {
	t.Helper()
	h := adaptHandler(t, "\tfederate {\n\t\tdialect meilisearch\n\t\t"+opts+"\n\t\tshard a 127.0.0.1:7700\n\t}")
	b, _ := json.Marshal(h)
	return string(b)
}

func adaptFederateErr(opts string) error {
	cf := "{\n\tadmin off\n}\n:8080 {\n\tfederate {\n\t\tdialect meilisearch\n\t\t" + opts + "\n\t\tshard a 127.0.0.1:7700\n\t}\n}\n"
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	return err
}

// TestWritesHook: a write hook hears of every write with its index, and
// its channel closes once the Meilisearch task has ended everywhere.
func TestWritesHook(t *testing.T) {
	shards := fakeShards(t, 2, 2)
	url := startCaddy(t, writeSite("route", shards))
	type heard struct {
		indexes []string
		pending <-chan struct{}
	}
	ch := make(chan heard, 1)
	routes.Lock()
	for h := range routes.m {
		if h.name() == "w" {
			h.writeHooks = append(h.writeHooks, func(_ context.Context, indexes []string, p <-chan struct{}) { ch <- heard{indexes, p} })
		}
	}
	routes.Unlock()
	_, sum := doJSON(t, http.MethodPost, url+"/indexes/movies/documents", docsBody(0, 10))
	got := <-ch
	if len(got.indexes) != 1 || got.indexes[0] != "movies" {
		t.Errorf("hook saw indexes %v", got.indexes)
	}
	select {
	case <-got.pending:
	case <-time.After(5 * time.Second):
		t.Fatal("the hook's channel did not close after the task ended")
	}
	if _, task := doJSON(t, http.MethodGet, fmt.Sprintf("%s/tasks/%v", url, sum["taskUid"]), ""); task["status"] != "succeeded" {
		t.Errorf("the channel closed while the task is %v", task["status"])
	}
}

// TestWritesHeaderRules: a shard's reverse_proxy header rules apply to
// the write parts of every replica, as to searches.
func TestWritesHeaderRules(t *testing.T) {
	shards := fakeShards(t, 1, 2)
	site := strings.Replace(writeSite("route", shards), "lb_policy round_robin", "lb_policy round_robin\n\t\t\theader_up X-Key operator-key", 1)
	url := startCaddy(t, site)
	if st, sum := doJSON(t, http.MethodPost, url+"/indexes/movies/documents", docsBody(0, 5)); st != 202 || waitTask(t, url, sum["taskUid"])["status"] != "succeeded" {
		t.Fatalf("add: %d %v", st, sum)
	}
	for i, rep := range shards[0] {
		rep.mu.Lock()
		keys := slices.Clone(rep.keys)
		rep.mu.Unlock()
		if len(keys) == 0 || slices.ContainsFunc(keys, func(k string) bool { return k != "operator-key" }) {
			t.Errorf("replica %d saw X-Key %q", i, keys)
		}
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// placement is the owner of id among shards, computed from the recipe in
// docs/writes.md (not from the plugin's code): the highest
// splitmix64(fnv1a64(shard + "\x00" + id)).
func placement(shards []string, id string) string {
	best, bestScore := "", uint64(0)
	for i, s := range shards {
		f := fnv.New64a()
		f.Write([]byte(s + "\x00" + id))
		x := f.Sum64()
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		if i == 0 || x > bestScore {
			best, bestScore = s, x
		}
	}
	return best
}

// replicaIDs lists every document id a replica holds (Elasticsearch API).
func replicaIDs(t *testing.T, s *harness.Shard) []string {
	t.Helper()
	code, b := s.Do(t, http.MethodPost, "/docs/_search", map[string]any{"size": 10000, "query": map[string]any{"match_all": map[string]any{}}})
	a := decodeES(t, code, b)
	out := ids(a)
	sort.Strings(out)
	return out
}

// meiliSearch runs a Meilisearch search against base and returns the total
// and the section facet.
func meiliSearch(t *testing.T, base, body string) (int, map[string]float64) {
	t.Helper()
	code, b, err := harness.DoErr(http.MethodPost, base+"/indexes/docs/search", json.RawMessage(body), nil)
	if err != nil || code != 200 {
		t.Fatalf("search %s at %s: %d %v %.300s", body, base, code, err, b)
	}
	var m struct {
		Total  int                           `json:"estimatedTotalHits"`
		Facets map[string]map[string]float64 `json:"facetDistribution"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Total, m.Facets["section"]
}

// TestWritesShardedMeilisearch loads the corpus through a federate route
// over 2 shards × 2 replicas of esshard with meilisearch-go's AddDocuments
// and WaitForTask, then checks placement, exact totals and facets against
// one index of the whole corpus, deletes by id and by filter, a settings
// change on every replica, and a replica stopped during a load.
func TestWritesShardedMeilisearch(t *testing.T) {
	harness.Heavy(t)
	bin := federateBin(t)
	docs := corpus1000(t)
	single := harness.StartESShard(t, harness.ShardOptions{Name: "single", Docs: docs})
	names := []string{"s0", "s1"}
	reps := map[string][]*harness.Shard{}
	for _, n := range names {
		for r := 0; r < 2; r++ {
			reps[n] = append(reps[n], harness.StartESShard(t, harness.ShardOptions{Name: fmt.Sprintf("%s-r%d", n, r)}))
		}
	}
	port := harness.FreePort(t)
	site := fmt.Sprintf("http://%s {\n\tfederate {\n\t\tname docs\n\t\tdialect meilisearch\n\t\twrites route\n\t\twrite_timeout 10s\n\t\tcoalesce off\n", harness.Addr(port))
	for _, n := range names {
		site += fmt.Sprintf("\t\tshard %s %s %s {\n\t\t\tlb_policy round_robin\n\t\t}\n", n, reps[n][0].Addr, reps[n][1].Addr)
	}
	site += "\t}\n}\n"
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	base := "http://" + harness.Addr(port)
	harness.WaitFor(t, c.Proc, "site listening", 10*time.Second, harness.HTTPReady(base+"/tasks"))

	client := meilisearch.New(base)
	defer client.Close()
	idx := client.Index("docs")
	wait := func(info *meilisearch.TaskInfo, err error) *meilisearch.Task {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		task, err := client.WaitForTask(t.Context(), info.TaskUID, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	// Load in batches of 250, as a loader would.
	for i := 0; i < len(docs); i += 250 {
		if task := wait(idx.AddDocuments(t.Context(), docs[i:min(i+250, len(docs))], nil)); task.Status != meilisearch.TaskStatusSucceeded {
			t.Fatalf("load batch %d: task %+v", i/250, task)
		}
	}

	// Every document on exactly one shard, the one the documented hash
	// names, and on both its replicas.
	held := map[string][]string{}
	for _, n := range names {
		a, b := replicaIDs(t, reps[n][0]), replicaIDs(t, reps[n][1])
		if !slices.Equal(a, b) {
			t.Fatalf("shard %s: replicas differ (%d and %d documents)", n, len(a), len(b))
		}
		held[n] = a
	}
	for _, d := range docs {
		want := placement(names, d.ID)
		for _, n := range names {
			if _, ok := slices.BinarySearch(held[n], d.ID); ok != (n == want) {
				t.Fatalf("document %s on shard %s: %v; the documented hash places it on %s", d.ID, n, ok, want)
			}
		}
	}
	t.Logf("placement: s0 %d, s1 %d of %d documents", len(held["s0"]), len(held["s1"]), len(docs))

	// Totals and facets through federate equal one index of the corpus.
	exact := func(what string) {
		t.Helper()
		for _, q := range []string{`{"q":"","facets":["section"],"limit":5}`, `{"q":"network server","facets":["section"],"limit":5}`} {
			wantN, wantF := meiliSearch(t, single.URL, q)
			for i := 0; i < 4; i++ { // round robin: every replica answers
				gotN, gotF := meiliSearch(t, base, q)
				if gotN != wantN || fmt.Sprint(gotF) != fmt.Sprint(wantF) {
					t.Fatalf("%s, %s: federate total %d facets %v; one index: %d %v", what, q, gotN, gotF, wantN, wantF)
				}
			}
		}
	}
	exact("after the load")

	// Delete by id reaches both replicas of the owner only.
	gone := docs[7].ID
	if task := wait(idx.DeleteDocument(t.Context(), gone, nil)); task.Status != meilisearch.TaskStatusSucceeded {
		t.Fatalf("delete by id: %+v", task)
	}
	single.Do(t, http.MethodPost, "/indexes/docs/documents/delete-batch", []string{gone})
	for _, r := range reps[placement(names, gone)] {
		if slices.Contains(replicaIDs(t, r), gone) {
			t.Fatalf("%s still holds deleted document %s", r.Name, gone)
		}
	}
	// Delete by filter reaches every shard.
	section := docs[0].Section
	filter := "section = " + section
	if task := wait(idx.DeleteDocumentsByFilter(t.Context(), filter, nil)); task.Status != meilisearch.TaskStatusSucceeded {
		t.Fatalf("delete by filter: %+v", task)
	}
	single.Do(t, http.MethodPost, "/indexes/docs/documents/delete", map[string]string{"filter": filter})
	if n, _ := meiliSearch(t, base, fmt.Sprintf(`{"q":"","filter":%q}`, filter)); n != 0 {
		t.Fatalf("%d documents of section %s left after the delete by filter", n, section)
	}
	exact("after the deletes")

	// A settings change reaches every replica.
	if task := wait(idx.UpdateSettings(t.Context(), &meilisearch.Settings{FilterableAttributes: []string{"section", "tags"}})); task.Status != meilisearch.TaskStatusSucceeded {
		t.Fatalf("settings: %+v", task)
	}
	for _, n := range names {
		for _, r := range reps[n] {
			if code, b := r.Do(t, http.MethodGet, "/indexes/docs/settings", nil); code != 200 || !strings.Contains(string(b), `"tags"`) {
				t.Errorf("%s settings: %d %s", r.Name, code, b)
			}
		}
	}

	// A replica stopped during a load: the task fails, naming the shard and
	// the replica's position, not its address.
	down := reps["s1"][1]
	if err := down.Proc.Stop(); err != nil {
		t.Logf("stopping %s: %v", down.Name, err)
	}
	extra := make([]corpus.Doc, 40)
	for i := range extra {
		extra[i] = corpus.Doc{ID: fmt.Sprintf("extra-%d", i), Title: "extra document", Section: "extra"}
	}
	single.Do(t, http.MethodPost, "/indexes/docs/documents", extra)
	task := wait(idx.AddDocuments(t.Context(), extra, nil))
	if task.Status != meilisearch.TaskStatusFailed || !strings.Contains(task.Error.Message, `shard "s1" replica 2 of 2`) ||
		strings.Contains(task.Error.Message, down.Addr) {
		t.Fatalf("load with a stopped replica: status %s, error %+v", task.Status, task.Error)
	}
	code, b, _ := harness.DoErr(http.MethodGet, c.AdminURL+"/federate/stale", nil, nil)
	if code != 200 || !strings.Contains(string(b), `"shard":"s1","replica":2`) {
		t.Fatalf("GET /federate/stale: %d %s", code, b)
	}

	// The replica comes back empty (a new process on the same address):
	// it is stale, so searches keep answering from its healthy twin.
	back := harness.StartESShard(t, harness.ShardOptions{Name: "s1-r1-back", Args: []string{"-addr", down.Addr}})
	exact("with a stale replica back in the pool")

	// The operator resyncs it from its twin, then clears the mark.
	src := reps["s1"][0]
	code, b = src.Do(t, http.MethodPost, "/docs/_search", map[string]any{"size": 10000, "query": map[string]any{"match_all": map[string]any{}}})
	var all []json.RawMessage
	for _, h := range decodeES(t, code, b).Hits.Hits {
		all = append(all, h.Source)
	}
	if code, b := back.Do(t, http.MethodPost, "/indexes/docs/documents", all); code != http.StatusAccepted {
		t.Fatalf("resync: %d %s", code, b)
	}
	code, b, _ = harness.DoErr(http.MethodDelete, c.AdminURL+"/federate/stale?route=docs&shard=s1&replica=2", nil, nil)
	if code != 200 || !strings.Contains(string(b), `"replica":2`) {
		t.Fatalf("clearing the stale mark: %d %s", code, b)
	}
	exact("after the resync")
}

package e2e

import (
	"bytes"
	"context"
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
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/opensearchutil"

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

// writeFleet is a federate route with writes over 2 shards × 2 replicas
// of empty esshards, and one esshard holding the whole corpus to compare
// with.
type writeFleet struct {
	single *harness.Shard
	names  []string
	reps   map[string][]*harness.Shard
	base   string
	caddy  *harness.Caddy
}

func startWriteFleet(t *testing.T, dialect string, docs []corpus.Doc) *writeFleet {
	bin := federateBin(t)
	f := &writeFleet{single: harness.StartESShard(t, harness.ShardOptions{Name: "single", Docs: docs}),
		names: []string{"s0", "s1"}, reps: map[string][]*harness.Shard{}}
	for _, n := range f.names {
		for r := 0; r < 2; r++ {
			f.reps[n] = append(f.reps[n], harness.StartESShard(t, harness.ShardOptions{Name: fmt.Sprintf("%s-r%d", n, r)}))
		}
	}
	port := harness.FreePort(t)
	site := fmt.Sprintf("http://%s {\n\tfederate {\n\t\tname docs\n\t\tdialect %s\n\t\twrites route\n\t\twrite_timeout 10s\n\t\tcoalesce off\n", harness.Addr(port), dialect)
	for _, n := range f.names {
		site += fmt.Sprintf("\t\tshard %s %s %s {\n\t\t\tlb_policy round_robin\n\t\t}\n", n, f.reps[n][0].Addr, f.reps[n][1].Addr)
	}
	site += "\t}\n}\n"
	f.caddy = harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	f.base = "http://" + harness.Addr(port)
	return f
}

// checkPlacement: every document on exactly one shard, the one the
// documented hash names, and on both its replicas.
func (f *writeFleet) checkPlacement(t *testing.T, docs []corpus.Doc) {
	t.Helper()
	held := map[string][]string{}
	for _, n := range f.names {
		a, b := replicaIDs(t, f.reps[n][0]), replicaIDs(t, f.reps[n][1])
		if !slices.Equal(a, b) {
			t.Fatalf("shard %s: replicas differ (%d and %d documents)", n, len(a), len(b))
		}
		held[n] = a
	}
	for _, d := range docs {
		want := placement(f.names, d.ID)
		for _, n := range f.names {
			if _, ok := slices.BinarySearch(held[n], d.ID); ok != (n == want) {
				t.Fatalf("document %s on shard %s: %v; the documented hash places it on %s", d.ID, n, ok, want)
			}
		}
	}
	t.Logf("placement: s0 %d, s1 %d of %d documents", len(held["s0"]), len(held["s1"]), len(docs))
}

// TestWritesShardedMeilisearch loads the corpus through a federate route
// over 2 shards × 2 replicas of esshard with meilisearch-go's AddDocuments
// and WaitForTask, then checks placement, exact totals and facets against
// one index of the whole corpus, deletes by id and by filter, a settings
// change on every replica, and a replica stopped during a load.
func TestWritesShardedMeilisearch(t *testing.T) {
	harness.Heavy(t)
	docs := corpus1000(t)
	f := startWriteFleet(t, "meilisearch", docs)
	single, reps, base, c, names := f.single, f.reps, f.base, f.caddy, f.names
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

	f.checkPlacement(t, docs)

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

// esTotals is an Elasticsearch search's total and section buckets.
func esTotals(t *testing.T, url, text string) (int, string) {
	t.Helper()
	q := map[string]any{"size": 5, "aggs": map[string]any{"sections": map[string]any{"terms": map[string]any{"field": "section", "size": 100}}}}
	if text != "" {
		q["query"] = map[string]any{"multi_match": map[string]any{"query": text, "fields": []string{"title", "body"}}}
	}
	code, b, err := harness.DoErr(http.MethodPost, url+"/docs/_search", q, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := decodeES(t, code, b)
	buckets := map[string]int{}
	for _, bk := range a.Aggregations["sections"].Buckets {
		buckets[bk.Key] = bk.DocCount
	}
	return a.Hits.Total.Value, fmt.Sprint(buckets)
}

// TestWritesShardedBulkIndexer loads the corpus through an Elasticsearch
// route over 2 shards × 2 replicas with the official OpenSearch client's
// bulk indexer: every item succeeds, every document is on exactly one
// shard and both its replicas, totals and aggregations equal one index;
// bulk deletes and _delete_by_query reach the right replicas.
func TestWritesShardedBulkIndexer(t *testing.T) {
	harness.Heavy(t)
	docs := corpus1000(t)
	f := startWriteFleet(t, "elasticsearch", docs)
	harness.WaitFor(t, f.caddy.Proc, "site listening", 10*time.Second, harness.HTTPReady(f.base+"/docs/_search"))
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{f.base}}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(action string, ds []corpus.Doc) opensearchutil.BulkIndexerStats {
		t.Helper()
		bi, err := opensearchutil.NewBulkIndexer(opensearchutil.BulkIndexerConfig{Client: client, Index: "docs", NumWorkers: 2, FlushBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			item := opensearchutil.BulkIndexerItem{Action: action, DocumentID: d.ID,
				OnFailure: func(_ context.Context, it opensearchutil.BulkIndexerItem, res opensearchapi.BulkRespItem, err error) {
					t.Errorf("item %s: %d %+v %v", it.DocumentID, res.Status, res.Error, err)
				}}
			if action != "delete" {
				b, _ := json.Marshal(d)
				item.Body = bytes.NewReader(b)
			}
			if err := bi.Add(t.Context(), item); err != nil {
				t.Fatal(err)
			}
		}
		if err := bi.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		return bi.Stats()
	}
	if st := run("index", docs); st.NumFailed != 0 || st.NumIndexed != uint64(len(docs)) {
		t.Fatalf("bulk indexer: %+v", st)
	}
	f.checkPlacement(t, docs)
	exact := func(what string) {
		t.Helper()
		for _, text := range []string{"", "network server"} {
			wantN, wantA := esTotals(t, f.single.URL, text)
			for i := 0; i < 4; i++ {
				if gotN, gotA := esTotals(t, f.base, text); gotN != wantN || gotA != wantA {
					t.Fatalf("%s, %q: federate total %d aggs %s; one index %d %s", what, text, gotN, gotA, wantN, wantA)
				}
			}
		}
	}
	exact("after the bulk load")

	// Bulk deletes go to the owners' replicas only.
	gone := docs[:25]
	if st := run("delete", gone); st.NumFailed != 0 || st.NumDeleted != uint64(len(gone)) {
		t.Fatalf("bulk delete: %+v", st)
	}
	var goneIDs []string
	for _, d := range gone {
		goneIDs = append(goneIDs, d.ID)
	}
	for _, id := range goneIDs {
		f.single.Do(t, http.MethodDelete, "/docs/_doc/"+id, nil)
	}
	for _, n := range f.names {
		for _, r := range f.reps[n] {
			for _, id := range replicaIDs(t, r) {
				if slices.Contains(goneIDs, id) {
					t.Fatalf("%s still holds deleted %s", r.Name, id)
				}
			}
		}
	}
	// _delete_by_query goes to every shard; deleted counts add up.
	q := map[string]any{"query": map[string]any{"term": map[string]any{"section": docs[100].Section}}}
	_, want := f.single.Do(t, http.MethodPost, "/docs/_delete_by_query", q)
	code, got, err := harness.DoErr(http.MethodPost, f.base+"/docs/_delete_by_query", q, nil)
	if err != nil || code != 200 {
		t.Fatalf("_delete_by_query: %d %v %s", code, err, got)
	}
	var w, g struct{ Deleted int }
	json.Unmarshal(want, &w)
	json.Unmarshal(got, &g)
	if g.Deleted != w.Deleted || g.Deleted == 0 {
		t.Errorf("_delete_by_query deleted %d through federate, %d on one index", g.Deleted, w.Deleted)
	}
	exact("after the deletes")
}

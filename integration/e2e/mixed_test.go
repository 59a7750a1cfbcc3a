package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// The mixed federation: one route per client dialect (Meilisearch,
// Elasticsearch, Typesense), all over the same three shards, each speaking a
// different dialect and running a different real engine:
//
//	bleve    esshard (bleve BM25)           dialect elasticsearch  index docs
//	groonga  Groonga's native /d/select     dialect groonga        index Docs?match_columns=title*2||body
//	pg       pgshard (PostgreSQL ts_rank)   dialect meilisearch    index docs
//
// The Debian corpus is split three ways by hash; the top hits of bleve for
// the test query are also loaded into Groonga, so that fusion has documents
// two shards both return (dedupe by id: _id, _key and id).

const (
	mixedQuery = "network server"
	mixedIndex = "Docs?match_columns=title*2||body"
)

// mixedShardNames are the shards in configuration order (it breaks ties).
var mixedShardNames = []string{"bleve", "groonga", "pg"}

type mixedFixture struct {
	bleve *harness.Shard
	grn   *harness.Groonga
	pg    *harness.Shard
	caddy *harness.Caddy
	// base is the federate site, http://127.0.0.1:port.
	base string
	// grnQueryLog is Groonga's query log (each command as received).
	grnQueryLog string
}

func startMixed(t *testing.T) *mixedFixture {
	t.Helper()
	bin := federateBin(t)
	parts := corpus.SplitHash(corpus1000(t), 3)
	f := &mixedFixture{}
	pgc := harness.StartPostgres(t)
	f.bleve = harness.StartESShard(t, harness.ShardOptions{Name: "bleve", Docs: parts[0]})
	f.pg = harness.StartPGShard(t, pgc, harness.ShardOptions{Name: "pg", Docs: parts[2]})
	f.grn = harness.StartGroonga(t)
	f.grnQueryLog = filepath.Join(filepath.Dir(f.grn.Proc.Log), "query.log")

	// Groonga gets its third plus bleve's top 5 for the test query.
	top := esSearch(t, f.bleve.URL+"/docs/_search", textQuery(mixedQuery, 5))
	byID := map[string]corpus.Doc{}
	for _, d := range parts[0] {
		byID[d.ID] = d
	}
	grnDocs := slices.Clone(parts[1])
	for _, h := range top.Hits.Hits {
		grnDocs = append(grnDocs, byID[h.ID])
	}
	ctx := t.Context()
	if err := f.grn.Client.CreateDocs(ctx, "Docs"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.grn.Client.Load(ctx, "Docs", grnDocs); err != nil || n != len(grnDocs) {
		t.Fatalf("groonga: loaded %d of %d: %v", n, len(grnDocs), err)
	}

	port := harness.FreePort(t)
	f.base = "http://" + harness.Addr(port)
	shards := ""
	grnAddr := strings.TrimPrefix(f.grn.URL, "http://")
	shards += fmt.Sprintf("\t\tshard bleve %s {\n\t\t\tdialect elasticsearch\n\t\t\tindex docs\n\t\t}\n", f.bleve.Addr)
	shards += fmt.Sprintf("\t\tshard groonga %s {\n\t\t\tdialect groonga\n\t\t\tindex %q\n\t\t}\n", grnAddr, mixedIndex)
	shards += fmt.Sprintf("\t\tshard pg %s {\n\t\t\tdialect meilisearch\n\t\t\tindex docs\n\t\t}\n", f.pg.Addr)
	route := func(matcher, dialect string) string {
		// merge rrf: the test recomputes RRF; the default (auto) may switch
		// to raw scores once it has history.
		return fmt.Sprintf("\tfederate %s {\n\t\tdialect %s\n\t\tmerge rrf\n\t\ttimeout 5s\n%s\t}\n", matcher, dialect, shards)
	}
	site := fmt.Sprintf("http://%s {\n", harness.Addr(port)) +
		route("/indexes/*", "meilisearch") +
		route("/docs/_search", "elasticsearch") +
		"\t@typesense path /collections/* /multi_search\n" +
		route("@typesense", "typesense") +
		"}\n"
	f.caddy = harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site})
	harness.WaitFor(t, f.caddy.Proc, "site listening", 10*time.Second, harness.HTTPReady(f.base+"/"))
	return f
}

// TestMixedFederation: clients of three dialects (meilisearch-go,
// opensearch-go, typesense-go) over shards of three dialects and three
// engines; the fused order is the RRF of the shards' own answers; a
// subset filter reaches every dialect; a construct outside the subset is a
// 400 naming a shard; a stopped shard gives a partial answer every client
// still decodes.
func TestMixedFederation(t *testing.T) {
	harness.Heavy(t)
	f := startMixed(t)

	t.Run("meilisearch-go/fused-order", func(t *testing.T) { mixedMeiliFusedOrder(t, f) })
	t.Run("meilisearch-go/hits-carry-id", func(t *testing.T) { mixedHitsCarryID(t, f) })
	t.Run("meilisearch-go/filter", func(t *testing.T) { mixedMeiliFilter(t, f) })
	t.Run("meilisearch-go/or-rejected", func(t *testing.T) { mixedMeiliOrRejected(t, f) })
	t.Run("opensearch-go", func(t *testing.T) { mixedOpenSearch(t, f, false) })
	t.Run("typesense-go", func(t *testing.T) { mixedTypesense(t, f, false) })

	// One shard down: Groonga's process is stopped.
	if err := f.grn.Proc.Stop(); err != nil {
		t.Logf("groonga stopped: %v", err)
	}
	t.Run("partial/meilisearch-go", func(t *testing.T) { mixedMeiliPartial(t, f) })
	t.Run("partial/opensearch-go", func(t *testing.T) { mixedOpenSearch(t, f, true) })
	t.Run("partial/typesense-go", func(t *testing.T) { mixedTypesense(t, f, true) })
}

// shardList is one shard's ranked ids and total, from its own answer.
type shardList struct {
	name  string
	ids   []string
	total int
}

// mixedShardLists replays, directly against each engine, the request each
// shard last received from federate, and returns the shards' own answers in
// configuration order. It also returns the requests, for inspection.
func mixedShardLists(t *testing.T, f *mixedFixture) ([]shardList, map[string]string) {
	t.Helper()
	sent := map[string]string{}
	var out []shardList

	// bleve: the Elasticsearch request body, replayed.
	reqs := f.bleve.Requests(t)
	if len(reqs) == 0 {
		t.Fatal("bleve saw no request")
	}
	r := reqs[len(reqs)-1]
	sent["bleve"] = r.Method + " " + r.Path + " " + r.Body
	a := esSearch(t, f.bleve.URL+r.Path, r.Body)
	out = append(out, shardList{name: "bleve", ids: ids(a), total: a.Hits.Total.Value})

	// groonga: the last select in its query log, replayed.
	sel := lastGroongaSelect(t, f.grnQueryLog)
	sent["groonga"] = sel
	code, b := harness.Do(t, http.MethodGet, f.grn.URL+sel, nil)
	gl, err := decodeGroongaSelect(b)
	if code != 200 || err != nil {
		t.Fatalf("groonga %s: %d %v: %.300s", sel, code, err, b)
	}
	gl.name = "groonga"
	out = append(out, gl)

	// pg: the Meilisearch request body, replayed.
	reqs = f.pg.Requests(t)
	if len(reqs) == 0 {
		t.Fatal("pg saw no request")
	}
	r = reqs[len(reqs)-1]
	sent["pg"] = r.Method + " " + r.Path + " " + r.Body
	code, b = harness.Do(t, http.MethodPost, f.pg.URL+r.Path, r.Body)
	var m struct {
		Hits []struct {
			ID string `json:"id"`
		} `json:"hits"`
		Est *int `json:"estimatedTotalHits"`
	}
	if code != 200 || json.Unmarshal(b, &m) != nil || m.Est == nil {
		t.Fatalf("pg meilisearch search: %d %.300s", code, b)
	}
	pl := shardList{name: "pg", total: *m.Est}
	for _, h := range m.Hits {
		pl.ids = append(pl.ids, h.ID)
	}
	out = append(out, pl)
	return out, sent
}

// lastGroongaSelect is the path and query of the last /d/select in the log.
func lastGroongaSelect(t *testing.T, log string) string {
	t.Helper()
	fh, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	last := ""
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if _, cmd, ok := strings.Cut(sc.Text(), "|>"); ok && strings.HasPrefix(cmd, "/d/select") {
			last = cmd
		}
	}
	if last == "" {
		t.Fatalf("no /d/select in %s", log)
	}
	return last
}

// decodeGroongaSelect reads ids (_key) and the total of a select answer.
func decodeGroongaSelect(b []byte) (shardList, error) {
	var l shardList
	var top []json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil || len(top) < 2 {
		return l, fmt.Errorf("not [header, body]")
	}
	// body: [result set, drilldowns...]; result set: [[n], columns, rows...].
	var body []json.RawMessage
	var set []json.RawMessage
	if err := json.Unmarshal(top[1], &body); err != nil || len(body) == 0 ||
		json.Unmarshal(body[0], &set) != nil || len(set) < 2 {
		return l, fmt.Errorf("no result set")
	}
	var n []int
	var cols [][]string
	if json.Unmarshal(set[0], &n) != nil || len(n) != 1 || json.Unmarshal(set[1], &cols) != nil {
		return l, fmt.Errorf("bad result set head")
	}
	key := slices.IndexFunc(cols, func(c []string) bool { return len(c) > 0 && c[0] == "_key" })
	if key < 0 {
		return l, fmt.Errorf("no _key column in %v", cols)
	}
	l.total = n[0]
	for _, raw := range set[2:] {
		var row []any
		if err := json.Unmarshal(raw, &row); err != nil || len(row) <= key {
			return l, fmt.Errorf("bad row %s", raw)
		}
		id, _ := row[key].(string)
		l.ids = append(l.ids, id)
	}
	return l, nil
}

// fusedHit is one hit of the expected fusion.
type fusedHit struct {
	id       string
	score    float64
	rank     int // best rank
	shard    int // shard of the best occurrence (configuration order)
	nSources int
}

// rrf60 fuses the shards' lists as merge's rrf k=60 with weight 1 and dedupe
// by id: ties by fused score, then best rank, then shard order, then id.
func rrf60(lists []shardList) []fusedHit {
	byID := map[string]*fusedHit{}
	var order []*fusedHit
	for s, l := range lists {
		seen := map[string]bool{}
		for i, id := range l.ids {
			if seen[id] {
				continue // a shard votes once per id, with its better rank
			}
			seen[id] = true
			rank := i + 1
			h := byID[id]
			if h == nil {
				h = &fusedHit{id: id, rank: rank, shard: s}
				byID[id] = h
				order = append(order, h)
			}
			h.score += 1 / (60 + float64(rank))
			h.nSources++
			if rank < h.rank || (rank == h.rank && s < h.shard) {
				h.rank, h.shard = rank, s
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if math.Abs(a.score-b.score) > 1e-12 {
			return a.score > b.score
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if a.shard != b.shard {
			return a.shard < b.shard
		}
		return a.id < b.id
	})
	out := make([]fusedHit, len(order))
	for i, h := range order {
		out[i] = *h
	}
	return out
}

// meiliFederation is a merged Meilisearch hit's provenance.
type meiliFederation struct {
	Shard string  `json:"shard"`
	Rank  int     `json:"rank"`
	Score float64 `json:"score"`
}

func hitFederation(t *testing.T, h meilisearch.Hit) (string, meiliFederation) {
	t.Helper()
	var id string
	var fed meiliFederation
	// Hits from the Groonga shard carry Groonga's row as is: _key (and
	// _score), not the id field the other shards' documents have; see
	// mixedHitsCarryID.
	raw := h["id"]
	if raw == nil {
		raw = h["_key"]
	}
	if err := json.Unmarshal(raw, &id); err != nil || id == "" {
		t.Fatalf("hit without a string id or _key: %v", h)
	}
	if err := json.Unmarshal(h["_federation"], &fed); err != nil || fed.Shard == "" {
		t.Fatalf("hit %s without _federation: %s", id, h["_federation"])
	}
	return id, fed
}

func mixedMeiliFusedOrder(t *testing.T, f *mixedFixture) {
	c := meilisearch.New(f.base)
	defer c.Close()
	const limit = 20
	f.bleve.ClearRequests(t)
	f.pg.ClearRequests(t)
	res, err := c.Index("docs").Search(t.Context(), mixedQuery, &meilisearch.SearchRequest{Limit: limit, Facets: []string{"section"}})
	if err != nil {
		t.Fatalf("meilisearch-go: %v", err)
	}
	lists, sent := mixedShardLists(t, f)
	for _, n := range mixedShardNames {
		t.Logf("federate sent %s: %s", n, sent[n])
	}
	// What each shard was asked: the text, and the whole window.
	if !strings.Contains(sent["bleve"], `"network server"`) || !strings.Contains(sent["bleve"], `"size":20`) {
		t.Errorf("bleve request lacks the text or size 20: %s", sent["bleve"])
	}
	if q, _ := url.ParseQuery(strings.TrimPrefix(sent["groonga"], "/d/select?")); q.Get("query") != `"network" OR "server"` ||
		q.Get("match_columns") != "title*2||body" || q.Get("table") != "Docs" || q.Get("limit") != "20" {
		t.Errorf("groonga request: %v", q)
	}
	if !strings.Contains(sent["pg"], `"q":"network server"`) || !strings.Contains(sent["pg"], `"limit":20`) {
		t.Errorf("pg request lacks q or limit 20: %s", sent["pg"])
	}

	want := rrf60(lists)
	sum, dup := 0, 0
	for _, l := range lists {
		sum += l.total
		if len(l.ids) == 0 {
			t.Fatalf("shard %s has no hit for %q: the fixture is wrong", l.name, mixedQuery)
		}
	}
	for _, h := range want {
		if h.nSources > 1 {
			dup++
		}
	}
	t.Logf("shards' own answers: bleve %d/%d, groonga %d/%d, pg %d/%d hits/total; %d fused documents come from two shards",
		len(lists[0].ids), lists[0].total, len(lists[1].ids), lists[1].total, len(lists[2].ids), lists[2].total, dup)
	if len(want) > limit {
		want = want[:limit]
	}
	if len(res.Hits) != len(want) {
		t.Fatalf("%d hits, want %d", len(res.Hits), len(want))
	}
	shardsSeen := map[string]int{}
	var got, exp []string
	for i, h := range res.Hits {
		id, fed := hitFederation(t, h)
		shardsSeen[fed.Shard]++
		w := want[i]
		got = append(got, fmt.Sprintf("%s@%s#%d", id, fed.Shard, fed.Rank))
		exp = append(exp, fmt.Sprintf("%s@%s#%d", w.id, mixedShardNames[w.shard], w.rank))
		if math.Abs(fed.Score-w.score) > 1e-9 {
			t.Errorf("hit %d (%s): fused score %v, RRF k=60 gives %v", i, id, fed.Score, w.score)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Errorf("fused order differs from RRF k=60 over the shards' own answers:\n got %v\nwant %v", got, exp)
	}
	for _, n := range mixedShardNames {
		if shardsSeen[n] == 0 {
			t.Errorf("no hit from shard %s in the first %d: %v", n, limit, shardsSeen)
		}
	}
	// Meilisearch has no relation field: estimatedTotalHits is merge's
	// Total, the sum of the shards' totals. Documents two shards share are
	// counted twice (merge marks the total Gte, which the Elasticsearch
	// client sees as relation "gte"; Meilisearch cannot say it).
	if int(res.EstimatedTotalHits) != sum {
		t.Errorf("estimatedTotalHits %d, the shards' totals add to %d", res.EstimatedTotalHits, sum)
	}
	var facets map[string]map[string]int
	if err := json.Unmarshal(res.FacetDistribution, &facets); err != nil || len(facets["section"]) == 0 {
		t.Errorf("facetDistribution %s: %v", res.FacetDistribution, err)
	}
}

// mixedHitsCarryID: every merged Meilisearch hit should carry the
// document id as the other hits do ("id"). A Groonga shard's hits are its
// rows as they are ({_key, _score, title, body, section}), so a Meilisearch
// client decoding hits into a struct gets an empty id for them. Known gap:
// the test skips (with the offending hit) instead of failing while it lasts.
func mixedHitsCarryID(t *testing.T, f *mixedFixture) {
	c := meilisearch.New(f.base)
	defer c.Close()
	res, err := c.Index("docs").Search(t.Context(), mixedQuery, &meilisearch.SearchRequest{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, h := range res.Hits {
		if _, ok := h["id"]; !ok {
			_, fed := hitFederation(t, h)
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range h {
					if !yield(k) {
						return
					}
				}
			})
			bad = append(bad, fmt.Sprintf("%s hit _key=%s has fields %v", fed.Shard, h["_key"], keys))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d merged hits have no \"id\": %s", len(bad), len(res.Hits), bad[0])
	}
}

// mixedSection is a section with matches for mixedQuery on every shard.
func mixedSection(t *testing.T, f *mixedFixture) string {
	t.Helper()
	for _, s := range []string{"net", "admin", "utils", "web", "libs", "misc", "libdevel", "python"} {
		ok := true
		for _, url := range []string{f.bleve.URL, f.pg.URL} {
			code, b := harness.Do(t, http.MethodPost, url+"/indexes/docs/search",
				map[string]any{"q": mixedQuery, "limit": 1, "filter": fmt.Sprintf("section = %q", s)})
			var m struct{ EstimatedTotalHits int }
			if code != 200 || json.Unmarshal(b, &m) != nil || m.EstimatedTotalHits == 0 {
				ok = false
			}
		}
		if ok {
			res, err := f.grn.Client.Command(t.Context(), "select", url.Values{"table": {"Docs"},
				"match_columns": {"title*2||body"}, "query": {`"network" OR "server"`},
				"filter": {fmt.Sprintf("section == %q", s)}, "limit": {"0"}}, nil)
			if err == nil && !strings.HasPrefix(string(res), "[[[0]") {
				return s
			}
		}
	}
	t.Fatal("no section has matches on every shard")
	return ""
}

func mixedMeiliFilter(t *testing.T, f *mixedFixture) {
	section := mixedSection(t, f)
	c := meilisearch.New(f.base)
	defer c.Close()
	f.bleve.ClearRequests(t)
	f.pg.ClearRequests(t)
	res, err := c.Index("docs").Search(t.Context(), mixedQuery, &meilisearch.SearchRequest{
		Limit: 50, Filter: fmt.Sprintf("section = %q", section), Facets: []string{"section"}})
	if err != nil {
		t.Fatalf("meilisearch-go with a filter: %v", err)
	}
	lists, sent := mixedShardLists(t, f)
	for _, n := range mixedShardNames {
		t.Logf("federate sent %s: %s", n, sent[n])
	}
	if !strings.Contains(sent["bleve"], `"term"`) || !strings.Contains(sent["bleve"], section) {
		t.Errorf("bleve request has no term filter on %s: %s", section, sent["bleve"])
	}
	if q, _ := url.ParseQuery(strings.TrimPrefix(sent["groonga"], "/d/select?")); q.Get("filter") != fmt.Sprintf("section == %q", section) {
		t.Errorf("groonga filter %q", q.Get("filter"))
	}
	if !strings.Contains(sent["pg"], "section = ") {
		t.Errorf("pg request has no filter: %s", sent["pg"])
	}
	sum := 0
	for _, l := range lists {
		sum += l.total
		if l.total == 0 {
			t.Errorf("shard %s: no hit in section %s", l.name, section)
		}
	}
	if int(res.EstimatedTotalHits) != sum {
		t.Errorf("filtered estimatedTotalHits %d, shards' filtered totals add to %d", res.EstimatedTotalHits, sum)
	}
	seen := map[string]bool{}
	for _, h := range res.Hits {
		id, fed := hitFederation(t, h)
		seen[fed.Shard] = true
		var sec string
		if err := json.Unmarshal(h["section"], &sec); err != nil || sec != section {
			t.Errorf("hit %s from %s: section %s, want %s", id, fed.Shard, h["section"], section)
		}
	}
	if len(seen) != 3 {
		t.Errorf("filtered hits come from %v, want all three shards", seen)
	}
	var facets map[string]map[string]int
	if err := json.Unmarshal(res.FacetDistribution, &facets); err != nil {
		t.Fatalf("facetDistribution %s: %v", res.FacetDistribution, err)
	}
	if len(facets["section"]) != 1 || facets["section"][section] != sum {
		t.Errorf("filtered facetDistribution %v, want only %s: %d", facets, section, sum)
	}
}

func mixedMeiliOrRejected(t *testing.T, f *mixedFixture) {
	c := meilisearch.New(f.base)
	defer c.Close()
	_, err := c.Index("docs").Search(t.Context(), mixedQuery, &meilisearch.SearchRequest{
		Limit: 5, Filter: `section = "net" OR tags = "role::program"`})
	var me *meilisearch.Error
	if !errors.As(err, &me) {
		t.Fatalf("OR across fields: want a Meilisearch error, got %v", err)
	}
	msg := me.APIError.Message
	t.Logf("OR across fields: %d %s: %s", me.StatusCode, me.APIError.Code, msg)
	if me.StatusCode != 400 || me.APIError.Code != "unsupported_filter" {
		t.Errorf("status %d code %q, want 400 unsupported_filter", me.StatusCode, me.APIError.Code)
	}
	// The Meilisearch shard (pg) could take it as is; the others cannot.
	if !strings.Contains(msg, "bleve") && !strings.Contains(msg, "groonga") {
		t.Errorf("the error names no shard that cannot express it: %s", msg)
	}
	if strings.Contains(msg, "Shard pg ") {
		t.Errorf("the error blames the Meilisearch shard, which takes the filter as is: %s", msg)
	}
}

func mixedMeiliPartial(t *testing.T, f *mixedFixture) {
	c := meilisearch.New(f.base)
	defer c.Close()
	res, err := c.Index("docs").Search(t.Context(), mixedQuery, &meilisearch.SearchRequest{Limit: 10})
	if err != nil {
		t.Fatalf("meilisearch-go on a partial answer: %v", err)
	}
	if len(res.Hits) != 10 {
		t.Errorf("partial answer: %d hits", len(res.Hits))
	}
	for _, h := range res.Hits {
		if _, fed := hitFederation(t, h); fed.Shard == "groonga" {
			t.Errorf("hit from the stopped shard: %v", h)
		}
	}
	// meilisearch-go's SearchResponse has no remoteErrors (only its
	// MultiSearchResponse does): read it from the same request's raw body.
	code, b, err := harness.DoErr(http.MethodPost, f.base+"/indexes/docs/search", map[string]any{"q": mixedQuery, "limit": 10},
		nil)
	if err != nil || code != 200 {
		t.Fatalf("partial answer: %d %v %.300s", code, err, b)
	}
	var m struct {
		RemoteErrors map[string]meilisearch.RemoteError `json:"remoteErrors"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	e, ok := m.RemoteErrors["groonga"]
	if !ok || len(m.RemoteErrors) != 1 || e.Code == "" || !strings.Contains(e.Message, "groonga") {
		t.Errorf("remoteErrors %+v, want only groonga", m.RemoteErrors)
	}
	t.Logf("remoteErrors.groonga: %+v", e)
}

// mixedOpenSearch searches the Elasticsearch route with opensearch-go.
func mixedOpenSearch(t *testing.T, f *mixedFixture, partial bool) {
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{f.base}}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"size":30,"query":{"multi_match":{"query":"network server","fields":["title^2","body"]}},
		"aggs":{"section":{"terms":{"field":"section","size":5}}}}`
	res, err := c.Search(t.Context(), &opensearchapi.SearchReq{Indices: []string{"docs"}, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("opensearch-go over mixed shards: %v", err)
	}
	if len(res.Hits.Hits) != 30 || res.Hits.Total.Value == 0 || res.Shards.Total != 3 {
		t.Fatalf("opensearch-go: %d hits, total %+v, _shards %+v", len(res.Hits.Hits), res.Hits.Total, res.Shards)
	}
	for i, h := range res.Hits.Hits {
		if h.ID == "" || len(h.Source) == 0 || (i > 0 && h.Score > res.Hits.Hits[i-1].Score) {
			t.Fatalf("opensearch-go: hit %d %+v", i, h)
		}
	}
	if !partial {
		// The same fusion as for the Meilisearch client: RRF k=60 over the
		// shards' own answers to what federate sent them (bleve got the
		// client's multi_match as is, boosts included; the others the text).
		lists, sent := mixedShardLists(t, f)
		t.Logf("federate sent bleve: %s", sent["bleve"])
		want := rrf60(lists)[:30]
		var got, exp []string
		for i, h := range res.Hits.Hits {
			got = append(got, h.ID)
			exp = append(exp, want[i].id)
			if math.Abs(float64(h.Score)-want[i].score) > 1e-6 {
				t.Errorf("hit %d (%s): _score %v, RRF k=60 gives %v", i, h.ID, h.Score, want[i].score)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("Elasticsearch route: fused order differs from RRF k=60:\n got %v\nwant %v", got, exp)
		}
		if sum := lists[0].total + lists[1].total + lists[2].total; res.Hits.Total.Value != sum {
			t.Errorf("hits.total %d, the shards' totals add to %d", res.Hits.Total.Value, sum)
		}
		t.Logf("hits.total %+v; _index of the first hits: %s %s %s", res.Hits.Total, res.Hits.Hits[0].Index,
			res.Hits.Hits[1].Index, res.Hits.Hits[2].Index)
	}
	// Which shard each hit came from is not in opensearch-go's hit type;
	// read the raw answer for _clusters (also not in opensearch-go's
	// SearchResp) and the hits' provenance.
	code, b, err := harness.DoErr(http.MethodPost, f.base+"/docs/_search", body, nil)
	if err != nil || code != 200 {
		t.Fatalf("raw: %d %v %.300s", code, err, b)
	}
	var raw struct {
		Clusters struct {
			Total, Successful, Skipped, Failed int
			Details                            map[string]struct {
				Status string `json:"status"`
			} `json:"details"`
		} `json:"_clusters"`
		TimedOut bool `json:"timed_out"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if !partial {
		if res.Shards.Successful != 3 || res.Shards.Failed != 0 || res.Hits.Total.Relation != "gte" && res.Hits.Total.Relation != "eq" {
			t.Errorf("complete: _shards %+v, total %+v", res.Shards, res.Hits.Total)
		}
		for _, n := range mixedShardNames {
			if raw.Clusters.Details[n].Status != "successful" {
				t.Errorf("_clusters.details.%s: %+v (%.400s)", n, raw.Clusters.Details[n], b)
			}
		}
		return
	}
	if res.Shards.Successful != 2 || res.Shards.Failed != 1 || res.Hits.Total.Relation != "gte" {
		t.Errorf("partial: _shards %+v, total %+v", res.Shards, res.Hits.Total)
	}
	if raw.Clusters.Total != 3 || raw.Clusters.Successful != 2 || raw.Clusters.Details["groonga"].Status == "successful" ||
		raw.Clusters.Details["groonga"].Status == "" {
		t.Errorf("partial: _clusters %+v (%.600s)", raw.Clusters, b)
	}
	t.Logf("partial: _shards %+v, _clusters.details.groonga %+v", res.Shards, raw.Clusters.Details["groonga"])
}

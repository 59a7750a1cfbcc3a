package merge

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// strategies lists every option set the property tests run.
var strategies = []Options{
	{Strategy: RRF},
	{Strategy: RRF, K: 1},
	{Strategy: RRFZ},
	{Strategy: Raw},
	{Strategy: Interleave},
	{Strategy: Score, Normalizer: MinMax},
	{Strategy: Score, Normalizer: ZScore, Combine: MNZ},
	{Strategy: Score, Normalizer: L2},
	{Strategy: Score, Normalizer: Max, Depth: 3},
	{Strategy: Score, Normalizer: None},
	{Strategy: AutoChoice, Auto: NewAuto(true)},
	{Strategy: AutoChoice, Auto: historyAuto(false, 5)}, // calibrated
	{Strategy: Calibrated, Auto: historyAuto(false, 5)},
	{Strategy: Calibrated, Auto: historyAuto(false, 2)}, // s2 … s4 uncalibrated: rrf
	{Strategy: RRFCalibrated, Auto: historyAuto(false, 5)},
}

// randomLists draws 0–5 shards of 0–15 hits with IDs from a small pool (so
// that duplicates, across and within shards, are common), some empty IDs,
// some rank-only shards, random weights, totals and facets.
func randomLists(r *rand.Rand) []List {
	lists := make([]List, r.IntN(6))
	for i := range lists {
		l := &lists[i]
		l.Shard = fmt.Sprintf("s%d", i)
		l.Weight = []float64{0, 1, 0.5, 3}[r.IntN(4)]
		l.Total = r.Int64N(1000)
		if r.IntN(5) == 0 {
			l.TotalRelation = Gte
		}
		scoredList := r.IntN(4) != 0
		score := 10 * r.Float64()
		for range r.IntN(16) {
			id := ""
			if r.IntN(10) != 0 {
				id = fmt.Sprintf("d%d", r.IntN(20))
			}
			score -= r.Float64() * float64(r.IntN(2)) // ties happen
			l.Hits = append(l.Hits, Hit{ID: id, Score: score, Scored: scoredList})
		}
		if r.IntN(2) == 0 {
			l.Facets = map[string]map[string]int64{
				"tag": {fmt.Sprintf("t%d", r.IntN(4)): r.Int64N(9), "t0": 1},
			}
			l.FacetsTruncated = r.IntN(4) == 0
		}
	}
	return lists
}

func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	for i := range 100 {
		lists := randomLists(r)
		for _, opts := range strategies {
			for _, dedupe := range []bool{false, true} {
				opts.Dedupe = dedupe
				t.Run(fmt.Sprintf("%d/%s%s/%v", i, opts.Strategy, opts.Normalizer, dedupe), func(t *testing.T) {
					checkInvariants(t, lists, r.IntN(2), opts)
				})
			}
		}
	}
}

// TestEveryHitKept: without dedupe the fused list holds every occurrence;
// with dedupe it holds every distinct ID (and every empty-ID hit) once.
func TestEveryHitKept(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		lists := randomLists(r)
		n, ids, empty := 0, map[string]bool{}, 0
		for _, l := range lists {
			n += len(l.Hits)
			for _, h := range l.Hits {
				if h.ID == "" {
					empty++
				} else {
					ids[h.ID] = true
				}
			}
		}
		for _, opts := range strategies {
			if got := len(Merge(lists, 0, opts).Hits); got != n {
				t.Fatalf("%s: %d hits, want %d", opts.Strategy, got, n)
			}
			opts.Dedupe = true
			if got := len(Merge(lists, 0, opts).Hits); got != len(ids)+empty {
				t.Fatalf("%s dedupe: %d hits, want %d", opts.Strategy, got, len(ids)+empty)
			}
		}
	}
}

// TestShuffledInputOrderIrrelevant: rebuilding the facet maps in another
// insertion order (and so another iteration order) changes nothing.
func TestShuffledInputOrderIrrelevant(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	for range 100 {
		lists := randomLists(r)
		want := Merge(lists, 0, Options{Dedupe: true})
		for i := range lists {
			lists[i].Facets = reinsert(r, lists[i].Facets)
		}
		if got := Merge(lists, 0, Options{Dedupe: true}); !sameResult(got, want) {
			t.Fatalf("facet map order changed the result")
		}
	}
}

func reinsert(r *rand.Rand, m map[string]map[string]int64) map[string]map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]map[string]int64, len(m))
	for name, vals := range m {
		keys := make([]string, 0, len(vals))
		for v := range vals {
			keys = append(keys, v)
		}
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		nv := make(map[string]int64, len(vals))
		for _, k := range keys {
			nv[k] = vals[k]
		}
		out[name] = nv
	}
	return out
}

// TestDepthMakesScoresPageIndependent: statistics use only the top Depth
// hits, so fetching deeper lists leaves the scores of the top Depth hits
// unchanged (without dedupe, where deeper hits cannot join a top hit).
func TestDepthMakesScoresPageIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	const depth = 5
	for range 100 {
		deep := randomLists(r)
		short := make([]List, len(deep))
		for i, l := range deep {
			short[i] = l
			short[i].Hits = l.Hits[:min(len(l.Hits), depth)]
		}
		for _, opts := range strategies {
			opts.Depth = depth
			want := scoresByOccurrence(Merge(short, 0, opts).Hits)
			got := scoresByOccurrence(Merge(deep, 0, opts).Hits)
			for k, s := range want {
				if !near(got[k], s) {
					t.Fatalf("%s%s: %s scored %v with %d hits a shard, %v with all", opts.Strategy, opts.Normalizer, k, s, depth, got[k])
				}
			}
		}
	}
}

func scoresByOccurrence(hits []Fused) map[string]float64 {
	m := make(map[string]float64, len(hits))
	for _, h := range hits {
		m[fmt.Sprintf("%s#%d", h.Shard, h.Rank)] = h.Score
	}
	return m
}

// TestMergerReuse: one Merger fed a stream of different inputs answers as a
// fresh Merge does, and an earlier Result is not changed by later calls.
func TestMergerReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	var m Merger
	var prev Result
	var prevText string
	for i := range 300 {
		lists := randomLists(r)
		opts := strategies[i%len(strategies)]
		opts.Dedupe = i%2 == 0
		opts.Limit = []int{0, 2, 5}[i%3]
		got := m.Merge(lists, 0, opts)
		if want := Merge(lists, 0, opts); !sameResult(got, want) {
			t.Fatalf("call %d: reused Merger differs from Merge", i)
		}
		if i > 0 && fmt.Sprintf("%+v", prev) != prevText {
			t.Fatalf("call %d changed the previous result", i)
		}
		prev, prevText = got, fmt.Sprintf("%+v", got)
	}
}

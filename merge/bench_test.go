package merge

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchLists is 10 shards × 100 scored hits; IDs come from a pool of 700 so
// that about a third of the hits are duplicates across shards.
func benchLists() []List {
	r := rand.New(rand.NewPCG(10, 100))
	lists := make([]List, 10)
	for s := range lists {
		l := &lists[s]
		l.Shard = fmt.Sprintf("shard%d", s)
		l.Total = 5000
		l.Hits = make([]Hit, 100)
		score := 20 * r.Float64()
		seen := map[int]bool{}
		for i := range l.Hits {
			id := r.IntN(700)
			for seen[id] {
				id = r.IntN(700)
			}
			seen[id] = true
			score -= r.Float64() / 10
			l.Hits[i] = Hit{ID: fmt.Sprintf("doc-%d", id), Score: score, Scored: true, Doc: []byte(`{}`)}
		}
		l.Facets = map[string]map[string]int64{"section": {"utils": 10, "net": 4, fmt.Sprint("s", s): 2}}
	}
	return lists
}

func benchMerge(b *testing.B, opts Options) {
	lists := benchLists()
	b.ReportAllocs()
	for b.Loop() {
		Merge(lists, 0, opts)
	}
}

// benchMerger merges with one reused Merger: the handler's steady state
// with a pool of Mergers.
func benchMerger(b *testing.B, opts Options) {
	lists := benchLists()
	var m Merger
	b.ReportAllocs()
	for b.Loop() {
		m.Merge(lists, 0, opts)
	}
}

func BenchmarkMergerRRFDedupe(b *testing.B) {
	benchMerger(b, Options{Strategy: RRF, Dedupe: true, Limit: 10})
}

func BenchmarkMergeRRFDedupe(b *testing.B) {
	benchMerge(b, Options{Strategy: RRF, Dedupe: true, Limit: 10})
}

func BenchmarkMergeRRFDedupeAll(b *testing.B) {
	benchMerge(b, Options{Strategy: RRF, Dedupe: true})
}

func BenchmarkMergeRRFZ(b *testing.B) {
	benchMerge(b, Options{Strategy: RRFZ, Dedupe: true, Limit: 10})
}

func BenchmarkMergeScoreMinMax(b *testing.B) {
	benchMerge(b, Options{Strategy: Score, Normalizer: MinMax, Dedupe: true, Limit: 10})
}

func BenchmarkAutoObserve(b *testing.B) {
	lists := benchLists()
	auto := NewAuto(false)
	b.ReportAllocs()
	for b.Loop() {
		auto.Observe(lists)
	}
}

func BenchmarkAutoRefresh(b *testing.B) {
	auto := NewAuto(false)
	lists := benchLists()
	for range historyQueries {
		auto.Observe(lists)
	}
	b.ReportAllocs()
	for b.Loop() {
		auto.Refresh()
	}
}

// benchAuto is an Auto refreshed over historyQueries answers of the ten
// shards of benchLists, shard s scoring at 1 + s/10 times the scale of
// shard 0: overlapping distributions at different scales, the case where
// auto applies Calibrated.
func benchAuto(b *testing.B) *Auto {
	r := rand.New(rand.NewPCG(1, 10))
	auto := NewAuto(false)
	lists := benchLists()
	for range historyQueries {
		for s := range lists {
			score := (1 + float64(s)/10) * (10 + 10*r.Float64())
			for i := range lists[s].Hits[:topPerQuery] {
				score -= r.Float64()
				lists[s].Hits[i].Score = score
			}
		}
		auto.Observe(lists)
	}
	auto.Refresh()
	if c := auto.Choice(); c != Calibrated {
		b.Fatalf("auto chose %s at KS %v", c, auto.Distance())
	}
	return auto
}

// BenchmarkMergeAuto is the default strategy on the request path, here
// applying Calibrated.
func BenchmarkMergeAuto(b *testing.B) {
	benchMerge(b, Options{Strategy: AutoChoice, Auto: benchAuto(b), Dedupe: true, Limit: 10})
}

// BenchmarkMergerAuto is BenchmarkMergeAuto with a reused Merger.
func BenchmarkMergerAuto(b *testing.B) {
	benchMerger(b, Options{Strategy: AutoChoice, Auto: benchAuto(b), Dedupe: true, Limit: 10})
}

// BenchmarkMergerRRFCalibrated is RRFCalibrated (what auto applies to
// unrelated engines) with a reused Merger.
func BenchmarkMergerRRFCalibrated(b *testing.B) {
	benchMerger(b, Options{Strategy: RRFCalibrated, Auto: benchAuto(b), Dedupe: true, Limit: 10})
}

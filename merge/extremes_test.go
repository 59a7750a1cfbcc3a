package merge

import (
	"math"
	"testing"
)

// TestExtremeScores: engine scores near the float64 limits overflow sums;
// results stay finite and ordered.
func TestExtremeScores(t *testing.T) {
	big := math.MaxFloat64
	lists := []List{
		scored("A", "x", big, "y", -big),
		scored("B", "x", big, "y", -big),
	}
	for _, opts := range []Options{
		{Strategy: Score, Normalizer: None, Dedupe: true}, // x = +Inf → MaxFloat64
		{Strategy: Score, Normalizer: ZScore, Dedupe: true},
		{Strategy: RRFZ, Dedupe: true},
		{Strategy: Raw, Dedupe: true},
	} {
		res := Merge(lists, 0, opts)
		if got := render(res.Hits); got != "A/x@1 A/y@2" {
			t.Errorf("%s%s: order %s", opts.Strategy, opts.Normalizer, got)
		}
		checkFused(t, res.Hits, true)
	}
	res := Merge(lists, 0, Options{Strategy: Score, Normalizer: None, Dedupe: true})
	if res.Hits[0].Score != big || res.Hits[1].Score != -big {
		t.Errorf("overflowed sums: %v, %v; want ±MaxFloat64", res.Hits[0].Score, res.Hits[1].Score)
	}
}

func TestAddSat(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{1, 2, 3},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MinInt64, -1, math.MinInt64},
		{math.MaxInt64, math.MinInt64, -1},
	}
	for _, tt := range tests {
		if got := addSat(tt.a, tt.b); got != tt.want {
			t.Errorf("addSat(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestMergerDropsOutsizedMemory: after a merge larger than maxRetained
// occurrences the Merger keeps nothing.
func TestMergerDropsOutsizedMemory(t *testing.T) {
	l := List{Shard: "A", Hits: make([]Hit, maxRetained+1)}
	var m Merger
	m.Merge([]List{l}, 0, Options{Limit: 1})
	if cap(m.occs) != 0 || cap(m.groups) != 0 {
		t.Errorf("kept %d occurrences of memory", cap(m.occs))
	}
	m.Merge([]List{list("A", "a", "b")}, 0, Options{})
	if cap(m.occs) == 0 {
		t.Errorf("small merge memory not kept")
	}
}

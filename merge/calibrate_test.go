package merge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantiles(t *testing.T) {
	seq := make([]float64, 100) // 0 … 99
	for i := range seq {
		seq[i] = float64(i)
	}
	tests := []struct {
		name   string
		h      []float64 // sorted history
		v, p   []float64 // expected knots, or nil to skip
		at     map[float64]float64
		nKnots int
	}{
		{
			name: "distinct", h: []float64{1, 2, 3, 4},
			// P(v) = (#{h < v} + ½)/4
			v: []float64{1, 2, 3, 4}, p: []float64{0.125, 0.375, 0.625, 0.875},
			at: map[float64]float64{0.5: 0, 1: 0.125, 1.5: 0.25, 3.25: 0.6875, 4: 0.875, 4.5: 1},
		},
		{
			name: "ties count half", h: []float64{1, 1, 2, 4},
			// 1: (0 + 2/2)/4; 2: (2 + ½)/4; 4: (3 + ½)/4
			v: []float64{1, 2, 4}, p: []float64{0.25, 0.625, 0.875},
			at: map[float64]float64{0.99: 0, 1: 0.25, 3: 0.75, 4.01: 1},
		},
		{
			name: "one value", h: []float64{3, 3, 3},
			v: []float64{3}, p: []float64{0.5},
			at: map[float64]float64{2: 0, 3: 0.5, 4: 1},
		},
		{
			name: "negative scores", h: []float64{-3, -1},
			v: []float64{-3, -1}, p: []float64{0.25, 0.75},
			at: map[float64]float64{-2: 0.5, -0.5: 1},
		},
		{
			// 100 values, 64 knots at h[round(j·99/63)]: 0, 2, 3, 5, …, 99.
			// Between knots 0 (P = 0.005) and 2 (P = 0.025) the line passes
			// through 1's own mid-rank CDF 0.015.
			name: "knots", h: seq, nKnots: 64,
			at: map[float64]float64{0: 0.005, 1: 0.015, 2: 0.025, 50.5: 0.51, 99: 0.995, 100: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQuantiles(tt.h)
			if tt.v != nil && (!slices.Equal(q.v, tt.v) || !slices.EqualFunc(q.p, tt.p, near)) {
				t.Errorf("table %v → %v, want %v → %v", q.v, q.p, tt.v, tt.p)
			}
			if tt.nKnots > 0 && len(q.v) != tt.nKnots {
				t.Errorf("%d knots, want %d", len(q.v), tt.nKnots)
			}
			for x, want := range tt.at {
				if got := q.at(x); !near(got, want) {
					t.Errorf("at(%v) = %v, want %v", x, got, want)
				}
			}
		})
	}
}

func TestBlend(t *testing.T) {
	a := newQuantiles([]float64{1, 2, 3, 4}) // .125 .375 .625 .875
	b := newQuantiles([]float64{2, 4})       // .25 .75
	if blend(a, b, 1) != a || blend(a, b, 0) != b || blend(a, b, 2) != a || blend(a, b, -1) != b {
		t.Errorf("λ = 1 (or more) must give a, λ = 0 (or less) b")
	}
	// λ = ½ on the knots 1, 2, 3, 4: ½·F_a + ½·F_b with F_b(1) = 0 (below
	// b's range) and F_b(3) = .5 (halfway from 2 to 4).
	q := blend(a, b, 0.5)
	want := []float64{0.0625, 0.3125, 0.5625, 0.8125}
	if !slices.Equal(q.v, []float64{1, 2, 3, 4}) || !slices.EqualFunc(q.p, want, near) {
		t.Errorf("blend %v → %v, want [1 2 3 4] → %v", q.v, q.p, want)
	}
	if got := q.at(2.5); !near(got, 0.4375) {
		t.Errorf("at(2.5) = %v, want 0.4375", got)
	}
}

// TestRefreshBlends: A scores 1 … 20 and B 4 … 23 (ten times each), so
// D = 3/20 = 0.15, λ = (0.15 − 0.1)/0.1 = ½: auto chooses Calibrated and
// each table is half the shard's own CDF, half the pooled one. At 10:
// F_A,own = (90 + 10/2)/200 = .475, P = (90 + 60 + 20/2)/400 = .4, so
// F_A(10) ≈ ½·.475 + ½·.4 = .4375 (up to the knots' interpolation).
func TestRefreshBlends(t *testing.T) {
	auto := NewAuto(false)
	var ownA, pool []float64
	for range 10 {
		for _, hi := range []int{20, 10} {
			a, b := List{Shard: "A"}, List{Shard: "B"}
			for x := hi; x > hi-10; x-- {
				a.Hits = append(a.Hits, Hit{Score: float64(x), Scored: true})
				b.Hits = append(b.Hits, Hit{Score: float64(x + 3), Scored: true})
				ownA = append(ownA, float64(x))
				pool = append(pool, float64(x), float64(x+3))
			}
			auto.Observe([]List{a, b})
		}
	}
	auto.Refresh()
	if got, d := auto.Choice(), auto.Distance(); got != Calibrated || !near(d, 0.15) {
		t.Fatalf("chose %s at D = %v, want calibrated at 0.15", got, d)
	}
	slices.Sort(ownA)
	slices.Sort(pool)
	want := blend(newQuantiles(ownA), newQuantiles(pool), 0.5)
	got := auto.last.Load().tables["A"]
	if !slices.Equal(got.v, want.v) || !slices.EqualFunc(got.p, want.p, near) {
		t.Errorf("table of A:\n got %v → %v\nwant %v → %v", got.v, got.p, want.v, want.p)
	}
	if f := got.at(10); math.Abs(f-0.4375) > 0.01 {
		t.Errorf("F_A(10) = %v, want about 0.4375", f)
	}
}

// calibratedAuto has the history A: 1 … 10 and B: 10, 20 … 100, ten
// answers each, so that (100 scores, every value ten times)
//
//	F_A(v) = (10·(v−1) + 5)/100    F_B(v) = (v − 5)/100
//
// at the knots. KS distance 0.9 (only 10 is shared), scale gap 0.9: auto
// chooses RRFCalibrated.
func calibratedAuto() *Auto {
	auto := NewAuto(false)
	for range 10 {
		a, b := List{Shard: "A"}, List{Shard: "B"}
		for i := 10; i >= 1; i-- {
			a.Hits = append(a.Hits, Hit{ID: fmt.Sprint("a", i), Score: float64(i), Scored: true})
			b.Hits = append(b.Hits, Hit{ID: fmt.Sprint("b", i), Score: float64(10 * i), Scored: true})
		}
		auto.Observe([]List{a, b})
	}
	auto.Refresh()
	return auto
}

func TestMergeCalibrated(t *testing.T) {
	auto := calibratedAuto()
	if got, d := auto.Choice(), auto.Distance(); got != RRFCalibrated || !near(d, 0.9) {
		t.Fatalf("auto chose %s at KS %v, want rrf_calibrated at 0.9", got, d)
	}
	tests := []struct {
		name  string
		lists []List
		opts  Options
		want  string
		strat Strategy
	}{
		{
			// F_A(10) = .95, F_A(5.5) = .50 (halfway from 5 to 6),
			// F_B(100) = .95, F_B(45) = .40; B weighs 2.
			name:  "weights",
			lists: []List{scored("A", "a1", 10.0, "a2", 5.5), weighted(scored("B", "b1", 100.0, "b2", 45.0), 2)},
			opts:  Options{Strategy: Calibrated, Auto: auto},
			want:  "b1:1.9 a1:0.95 b2:0.8 a2:0.5", strat: Calibrated,
		},
		{
			// Raw would put every B hit first; calibrated, A's 9 (F .85)
			// beats B's 30 (F .25). Above the history both clamp to 1 and
			// rank then shard order decide: a0 (A#1) before b0 (B#1).
			name:  "scales",
			lists: []List{scored("A", "a0", 50.0, "a9", 9.0), scored("B", "b0", 500.0, "b3", 30.0)},
			opts:  Options{Strategy: Calibrated, Auto: auto},
			want:  "a0:1 b0:1 a9:0.85 b3:0.25", strat: Calibrated,
		},
		{
			// Below the history: 0, ordered by rank then shard.
			name:  "below history",
			lists: []List{scored("A", "a", 0.5), scored("B", "b", 1.0)},
			opts:  Options{Strategy: Calibrated, Auto: auto},
			want:  "a:0 b:0", strat: Calibrated,
		},
		{
			// CombSUM: x is in both, F_A(7) + F_B(70) = .65 + .65.
			name:  "dedupe sums",
			lists: []List{scored("A", "x", 7.0, "y", 6.0), scored("B", "z", 100.0, "x", 70.0)},
			opts:  Options{Strategy: Calibrated, Auto: auto, Dedupe: true},
			want:  "x:1.3 z:0.95 y:0.55", strat: Calibrated,
		},
		{
			// An empty list needs no table.
			name:  "empty shard without history",
			lists: []List{scored("A", "a", 10.0), {Shard: "C"}},
			opts:  Options{Strategy: Calibrated, Auto: auto},
			want:  "a:0.95", strat: Calibrated,
		},
		{
			name:  "shard without history falls back to rrf",
			lists: []List{scored("A", "a", 10.0), scored("C", "c", 1.0)},
			opts:  Options{Strategy: Calibrated, Auto: auto},
			want:  "a:0.01639 c:0.01639", strat: RRF,
		},
		{
			name:  "rank-only list falls back to rrf",
			lists: []List{scored("A", "a", 10.0), list("B", "b")},
			opts:  Options{Strategy: Calibrated, Auto: auto},
			want:  "a:0.01639 b:0.01639", strat: RRF,
		},
		{
			name:  "no Auto falls back to rrf",
			lists: []List{scored("A", "a", 10.0)},
			opts:  Options{Strategy: Calibrated},
			want:  "a:0.01639", strat: RRF,
		},
		{
			name:  "no Refresh yet falls back to rrf",
			lists: []List{scored("A", "a", 10.0)},
			opts:  Options{Strategy: Calibrated, Auto: NewAuto(false)},
			want:  "a:0.01639", strat: RRF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Merge(tt.lists, 0, tt.opts)
			if res.Strategy != tt.strat {
				t.Errorf("applied %s, want %s", res.Strategy, tt.strat)
			}
			if got := renderScores(res.Hits); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			checkFused(t, res.Hits, tt.opts.Dedupe)
		})
	}
}

// renderScores is "id:score …" with scores to 4 significant digits.
func renderScores(hits []Fused) string {
	var b []byte
	for i, h := range hits {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "%s:%.4g", h.ID, h.Score)
	}
	return string(b)
}

// TestAutoCalibrates: shards at different but overlapping scales make auto
// apply Calibrated, which then orders as the shards' own CDFs say.
func TestAutoCalibrates(t *testing.T) {
	auto := historyAuto(false, 2) // s0 in [0, 10), s1 in [0, 15)
	if got := auto.Choice(); got != Calibrated {
		t.Fatalf("auto chose %s at KS %v, want calibrated", got, auto.Distance())
	}
	// 9 is near the top of s0's range, 12 well inside s1's.
	lists := []List{scored("s0", "a", 9.0), scored("s1", "b", 12.0)}
	res := Merge(lists, 0, Options{Strategy: AutoChoice, Auto: auto})
	if res.Strategy != Calibrated || res.Hits[0].ID != "a" {
		t.Errorf("applied %s, order %s", res.Strategy, render(res.Hits))
	}
}

// TestCalibratedConcurrent merges with Calibrated while Observe and Refresh
// replace the snapshot; run with -race.
func TestCalibratedConcurrent(t *testing.T) {
	auto := historyAuto(false, 3)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := rand.New(rand.NewPCG(1, 1))
		for range 200 {
			auto.Observe([]List{answer("s0", 10, r.Float64), answer("s1", 10, r.Float64)})
			auto.Refresh()
		}
	}()
	lists := []List{scored("s0", "a", 0.5), scored("s1", "b", 0.7), scored("s2", "c", 3.0)}
	var m Merger
	for range 500 {
		res := m.Merge(lists, 0, Options{Strategy: AutoChoice, Auto: auto})
		checkFused(t, res.Hits, false)
	}
	<-done
}

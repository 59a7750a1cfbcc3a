package merge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestKSDistance(t *testing.T) {
	tests := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{[]float64{1, 2}, []float64{3, 4}, 1},
		// x=1: .25 vs 0; x=2: .5 vs 0; x=3: .75 vs .25; x=4: 1 vs .5.
		{[]float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}, 0.5},
		// Ties step together: x=1: 2/3 vs 1/3; x=2: 1 vs 1.
		{[]float64{1, 1, 2}, []float64{1, 2, 2}, 1.0 / 3},
		{nil, []float64{1}, 1},
	}
	for _, tt := range tests {
		if got := ksDistance(tt.a, tt.b); !near(got, tt.want) {
			t.Errorf("ks(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestScaleGap(t *testing.T) {
	seq := func(lo, step float64) []float64 { // 11 values: deciles are seq[1] … seq[9]
		out := make([]float64, 11)
		for i := range out {
			out[i] = lo + step*float64(i)
		}
		return out
	}
	scale := func(s []float64, f float64) []float64 {
		out := make([]float64, len(s))
		for i, x := range s {
			out[i] = f * x
		}
		return out
	}
	a := seq(10, 0.01)
	tests := []struct {
		name string
		a, b []float64
		want float64
	}{
		{"same", a, a, 0},
		{"1 % above", a, scale(a, 1.01), 0.01 / 1.01},
		{"twice", a, scale(a, 2), 0.5},
		// Only the extremes differ: they are not deciles.
		{"extremes", a, append([]float64{0}, append(a[1:10:10], 1000)...), 0},
		{"zeros", make([]float64, 11), make([]float64, 11), 0},
		// Opposite signs: up to 2. Decile 7: −0.3 against 0.2.
		{"signs", seq(-1, 0.1), seq(-0.5, 0.1), 0.5 / 0.3},
		{"empty", nil, a, 1},
	}
	for _, tt := range tests {
		if got := scaleGap(tt.a, tt.b); !near(got, tt.want) {
			t.Errorf("%s: gap %v, want %v", tt.name, got, tt.want)
		}
	}
}

// answer is one shard answer of n hits whose scores are drawn by score.
func answer(shard string, n int, score func() float64) List {
	l := List{Shard: shard}
	for i := range n {
		l.Hits = append(l.Hits, Hit{ID: fmt.Sprintf("%s%d", shard, i), Score: score(), Scored: true})
	}
	return l
}

func TestAutoChoice(t *testing.T) {
	bm25 := func(r *rand.Rand) func() float64 { return func() float64 { return 5 + 10*r.Float64() } }
	cosine := func(r *rand.Rand) func() float64 { return func() float64 { return r.Float64() } }
	// tfidf overlaps bm25's range at another scale: KS distance about 0.5.
	tfidf := func(r *rand.Rand) func() float64 { return func() float64 { return 10 + 10*r.Float64() } }
	tests := []struct {
		name     string
		hint     bool
		queries  int
		a, b     func(*rand.Rand) func() float64
		rankOnly bool
		want     Strategy
	}{
		{name: "same scorer", queries: 50, a: bm25, b: bm25, want: Raw},
		{name: "related scorers", queries: 50, a: bm25, b: tfidf, want: Calibrated},
		{name: "unrelated scorers", queries: 50, a: bm25, b: cosine, want: RRFCalibrated},
		{name: "related scorers, too little history", queries: 9, a: bm25, b: tfidf, want: RRF},
		{name: "too little history", queries: 5, a: bm25, b: bm25, want: RRF},
		{name: "rank-only shard", queries: 50, a: bm25, b: bm25, rankOnly: true, want: RRF},
		{name: "operator hint", hint: true, queries: 5, a: bm25, b: cosine, want: Raw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			auto := NewAuto(tt.hint)
			if got := auto.Choice(); got != RRF && !tt.hint {
				t.Fatalf("before any Refresh: %s, want rrf", got)
			}
			for range tt.queries {
				b := answer("B", 20, tt.b(r))
				if tt.rankOnly {
					b = list("B", "x", "y")
				}
				auto.Observe([]List{answer("A", 20, tt.a(r)), b})
			}
			auto.Refresh()
			if got := auto.Choice(); got != tt.want {
				t.Errorf("choice %s (distance %v), want %s", got, auto.Distance(), tt.want)
			}
		})
	}
}

func TestAutoHistoryIsBounded(t *testing.T) {
	auto := NewAuto(false)
	r := rand.New(rand.NewPCG(3, 4))
	// Many answers of one scorer, then a ring's worth of another: the ring
	// keeps only the last historyQueries answers, so both shards now look
	// like the second one.
	for range 2 * historyQueries {
		auto.Observe([]List{answer("A", 10, r.Float64), answer("B", 10, r.Float64)})
	}
	for range historyQueries {
		f := func() float64 { return 100 + r.Float64() }
		auto.Observe([]List{answer("A", 10, f), answer("B", 10, f)})
	}
	auto.Refresh()
	if got := auto.Choice(); got != Raw {
		t.Errorf("choice %s, want raw", got)
	}
	if q := auto.last.Load().tables["A"]; q.v[0] < 100 {
		t.Errorf("table starts at %v: old scores kept", q.v[0])
	}
	for _, rg := range auto.shards {
		if rg.n != ringSize {
			t.Errorf("ring holds %d, want %d", rg.n, ringSize)
		}
	}
}

func TestMergeAuto(t *testing.T) {
	lists := []List{scored("A", "a", 1.0), scored("B", "b", 9.0)}
	if got := Merge(lists, 0, Options{Strategy: AutoChoice, Auto: NewAuto(true)}).Strategy; got != Raw {
		t.Errorf("hinted auto applied %s, want raw", got)
	}
	lists[1] = list("B", "b")
	if got := Merge(lists, 0, Options{Strategy: AutoChoice, Auto: NewAuto(true)}).Strategy; got != RRF {
		t.Errorf("auto with a rank-only list applied %s, want rrf", got)
	}
	if got := Merge(lists, 0, Options{Strategy: AutoChoice}).Strategy; got != RRF {
		t.Errorf("auto without Auto applied %s, want rrf", got)
	}
	var zero Auto
	if got := zero.Choice(); got != RRF || !math.IsNaN(zero.Distance()) {
		t.Errorf("zero Auto: %s, distance %v", got, zero.Distance())
	}
}

// TestAutoConcurrent runs Observe, Refresh and Choice together; run with
// -race.
func TestAutoConcurrent(t *testing.T) {
	auto := NewAuto(false)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 5))
			for range 200 {
				auto.Observe([]List{answer("A", 10, r.Float64), answer("B", 10, r.Float64)})
				if g%4 == 0 {
					auto.Refresh()
				}
				_ = auto.Choice()
				_ = auto.Distance()
			}
		})
	}
	wg.Wait()
	auto.Refresh()
	if got := auto.Choice(); got != Raw {
		t.Errorf("choice %s, want raw", got)
	}
}

// TestNearIdenticalScales: shards c and d of one engine, d's k-th hit
// always 1 % above c's (d_k = 1.01·c_k), must merge in the raw order d1, c1,
// d2, c2, … under auto and calibrated after warm-up, whether their scores
// spread widely (BM25-like) or sit in a narrow band (cosine-like, where 1 %
// moves a score past a third of the other shard's history). Per-shard
// tables map c_k and d_k to the same value and let rank and shard order
// decide: c1, d1, c2, d2.
func TestNearIdenticalScales(t *testing.T) {
	tests := []struct {
		name     string
		top, gap float64 // history: a query's top score is top·(1 + 2·gap·u), u in [0, 1); each rank up to gap below
	}{
		{"wide", 10, 0.05},
		{"narrow", 0.8, 0.002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(15, 1))
			pair := func(top, gap func() float64) []List {
				c, d := List{Shard: "c"}, List{Shard: "d"}
				s := top()
				for k := range topPerQuery {
					c.Hits = append(c.Hits, Hit{ID: fmt.Sprint("c", k+1), Score: s, Scored: true})
					d.Hits = append(d.Hits, Hit{ID: fmt.Sprint("d", k+1), Score: 1.01 * s, Scored: true})
					s *= 1 - gap()
				}
				return []List{c, d}
			}
			auto := NewAuto(false)
			for range historyQueries {
				auto.Observe(pair(func() float64 { return tt.top * (1 + 2*tt.gap*r.Float64()) },
					func() float64 { return tt.gap * r.Float64() }))
			}
			auto.Refresh()
			// The query merged: within the history's range, 2 % between ranks.
			lists := pair(func() float64 { return tt.top * (1 + tt.gap) }, func() float64 { return 0.02 })
			want := render(Merge(lists, 0, Options{Strategy: Raw}).Hits)
			if !strings.HasPrefix(want, "d/d1@1 c/c1@1 d/d2@2 c/c2@2") {
				t.Fatalf("raw order %s", want)
			}
			for _, s := range []Strategy{AutoChoice, Calibrated} {
				res := Merge(lists, 0, Options{Strategy: s, Auto: auto})
				if got := render(res.Hits); got != want {
					t.Errorf("%s (applied %s, KS %.3f):\n got %s\nwant %s", s, res.Strategy, auto.Distance(), got, want)
				}
			}
			if got := auto.Choice(); got != Raw {
				t.Errorf("auto chose %s at KS %.3f, want raw", got, auto.Distance())
			}
		})
	}
}

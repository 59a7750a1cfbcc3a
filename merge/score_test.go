package merge

import "testing"

// The score tests share two scored lists:
//
//	A: a 10, b 6, c 2
//	B: d 0.9, a 0.5, e 0.1
//
// Raw order would be a b c d e; every normalizer puts d next to a.
var scoreLists = []List{
	scored("A", "a", 10.0, "b", 6.0, "c", 2.0),
	scored("B", "d", 0.9, "a", 0.5, "e", 0.1),
}

func TestMergeScore(t *testing.T) {
	runCases(t, []mergeCase{
		{
			// minmax: A a 1, b .5, c 0; B d 1, a .5, e 0.
			// a = 1.5, d = 1, b = .5, c = e = 0 (rank 3 both: A first).
			name:   "minmax sum",
			lists:  scoreLists,
			opts:   Options{Strategy: Score, Dedupe: true},
			want:   "A/a@1 B/d@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{1.5, 1, 0.5, 0, 0},
		},
		{
			// CombMNZ: a found by 2 shards, 2 × 1.5 = 3; the rest as above.
			name:   "minmax mnz",
			lists:  scoreLists,
			opts:   Options{Strategy: Score, Normalizer: MinMax, Combine: MNZ, Dedupe: true},
			want:   "A/a@1 B/d@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{3, 1, 0.5, 0, 0},
		},
		{
			// zscore: A μ 6, σ √(32/3) = 3.2660 → a 1.2247, b 0, c −1.2247;
			// B μ .5, σ .3266 → d 1.2247, a 0, e −1.2247; B weight 2:
			// d 2.4495, a 1.2247 + 0 = 1.2247, b 0, c −1.2247, e −2.4495.
			name:   "zscore weighted",
			lists:  []List{scoreLists[0], weighted(scoreLists[1], 2)},
			opts:   Options{Strategy: Score, Normalizer: ZScore, Dedupe: true},
			want:   "B/d@1 A/a@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{2.4495, 1.2247, 0, -1.2247, -2.4495},
		},
		{
			// l2: A ‖·‖ = √140 = 11.8322 → a .8452, b .5071, c .1690;
			// B ‖·‖ = √1.07 = 1.0344 → d .8701, a .4834, e .0967.
			// a = 1.3286, d .8701, b .5071, c .1690, e .0967.
			name:   "l2",
			lists:  scoreLists,
			opts:   Options{Strategy: Score, Normalizer: L2, Dedupe: true},
			want:   "A/a@1 B/d@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{1.3286, 0.8701, 0.5071, 0.1690, 0.0967},
		},
		{
			// max: A a 1, b .6, c .2; B d 1, a .5556, e .1111.
			// a = 1.5556, d 1, b .6, c .2, e .1111.
			name:   "max",
			lists:  scoreLists,
			opts:   Options{Strategy: Score, Normalizer: Max, Dedupe: true},
			want:   "A/a@1 B/d@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{1.5556, 1, 0.6, 0.2, 0.1111},
		},
		{
			// none: raw values summed: a 10.5, b 6, c 2, d .9, e .1.
			name:   "none",
			lists:  scoreLists,
			opts:   Options{Strategy: Score, Normalizer: None, Dedupe: true},
			want:   "A/a@1 A/b@2 A/c@3 B/d@1 B/e@3",
			scores: []float64{10.5, 6, 2, 0.9, 0.1},
		},
		{
			// Depth 2: min and max over the top 2 only. A: a 1, b 0,
			// c (2−6)/4 = −1; B: d 1, a 0, e (.1−.5)/.4 = −1.
			// a = 1 ties d = 1 (rank 1 both: A first); b 0; c, e −1.
			name:   "depth",
			lists:  scoreLists,
			opts:   Options{Strategy: Score, Depth: 2, Dedupe: true},
			want:   "A/a@1 B/d@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{1, 1, 0, -1, -1},
		},
		{
			// A is rank-only: values 1/61, 1/62, 1/63 → minmax a 1,
			// b (1/62−1/63)/(1/61−1/63) = 3843/7812 = .4919, c 0.
			// B scored: d 1, e 0. Order a, d (ties, A first), b, then
			// e and c at 0: e's rank 2 beats c's rank 3.
			name:   "rank-only shard falls back to 1/(k+rank)",
			lists:  []List{list("A", "a", "b", "c"), scored("B", "d", 5.0, "e", 1.0)},
			opts:   Options{Strategy: Score, Dedupe: true},
			want:   "A/a@1 B/d@1 A/b@2 B/e@2 A/c@3",
			scores: []float64{1, 1, 0.4919, 0, 0},
		},
		{
			// All equal scores: minmax gives every hit 1; RRF-like order
			// by rank then shard.
			name:   "minmax degenerate",
			lists:  []List{scored("A", "a", 3.0, "b", 3.0), scored("B", "c", 7.0)},
			opts:   Options{Strategy: Score},
			want:   "A/a@1 B/c@1 A/b@2",
			scores: []float64{1, 1, 1},
		},
	})
}

func TestMergeRaw(t *testing.T) {
	runCases(t, []mergeCase{
		{
			// a = max(10, .5) = 10, b 6, c 2, d .9, e .1.
			name:   "engine scores",
			lists:  scoreLists,
			opts:   Options{Strategy: Raw, Dedupe: true},
			want:   "A/a@1 A/b@2 A/c@3 B/d@1 B/e@3",
			scores: []float64{10, 6, 2, 0.9, 0.1},
		},
		{
			// B weight 20: d 18, a max(10, 10) = 10 (tie: A's occurrence,
			// the best ranked, keeps the contribution), e 2 ties c 2
			// (rank 3 both: A first), b 6.
			name:   "weights",
			lists:  []List{scoreLists[0], weighted(scoreLists[1], 20)},
			opts:   Options{Strategy: Raw, Dedupe: true},
			want:   "B/d@1 A/a@1 A/b@2 A/c@3 B/e@3",
			scores: []float64{18, 10, 6, 2, 2},
		},
	})
}

func TestRawContributionOnMax(t *testing.T) {
	lists := []List{scored("A", "x", 1.0), scored("B", "y", 9.0, "x", 4.0)}
	res := Merge(lists, 0, Options{Strategy: Raw, Dedupe: true})
	// y 9, x max(1, 4) = 4 with the contribution on B#2 and 0 on A#1.
	x := res.Hits[1]
	if x.ID != "x" || renderSources(x) != "A#1 B#2" {
		t.Fatalf("x: %+v", x)
	}
	if x.Sources[0].Contribution != 0 || x.Sources[1].Contribution != 4 || x.Score != 4 {
		t.Errorf("x sources %+v score %v, want contributions 0 and 4", x.Sources, x.Score)
	}
}

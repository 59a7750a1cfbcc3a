package merge

import "math"

// defaultDepth is how many top hits per shard score statistics use when
// Options leave Depth 0.
const defaultDepth = 100

// stats describes the top Depth values of one list, on which every
// normalizer is computed. Values are divided by scale (the largest magnitude
// among them) before any arithmetic, so that sums of squares of extreme
// engine scores cannot overflow; every normalizer is scale-free.
type stats struct {
	// scored is false when the list is rank-only: a hit is unscored or its
	// score is NaN or infinite. Its values are then rank-derived.
	scored bool
	n      int
	scale  float64
	// min, max, mean, std (population) and l2 (Euclidean norm) of the
	// scaled values.
	min, max, mean, std, l2 float64
}

// listStats computes a list's statistics over its top depth hits.
func listStats(l *List, depth int, k float64) stats {
	st := stats{scored: isScored(l.Hits), n: min(len(l.Hits), depth), scale: 1}
	if st.n == 0 {
		return st
	}
	for r := 1; r <= st.n; r++ {
		if a := math.Abs(value(l, &st, r, k)); a > st.scale || r == 1 {
			st.scale = a
		}
	}
	if st.scale == 0 {
		st.scale = 1
	}
	st.min, st.max = math.Inf(1), math.Inf(-1)
	sum, sq := 0.0, 0.0
	for r := 1; r <= st.n; r++ {
		v := value(l, &st, r, k) / st.scale
		if v < st.min { // values are finite: no NaN-aware min/max needed
			st.min = v
		}
		if v > st.max {
			st.max = v
		}
		sum += v
		sq += v * v
	}
	st.mean = sum / float64(st.n)
	st.l2 = math.Sqrt(sq)
	dev := 0.0
	for r := 1; r <= st.n; r++ {
		d := value(l, &st, r, k)/st.scale - st.mean
		dev += d * d
	}
	st.std = math.Sqrt(dev / float64(st.n))
	return st
}

// isScored reports whether every hit carries a finite score.
func isScored(hits []Hit) bool {
	for i := range hits {
		// x − x is 0 for finite x and NaN for NaN and ±Inf.
		if d := hits[i].Score - hits[i].Score; !hits[i].Scored || d != 0 {
			return false
		}
	}
	return true
}

// value is the score the score-based strategies see for the hit at rank
// (from 1): the engine's score, or for a rank-only list the rank-derived
// score 1/(k+rank), the hit's RRF value, which falls with rank as a score
// does and needs no engine.
func value(l *List, st *stats, rank int, k float64) float64 {
	if st.scored {
		return l.Hits[rank-1].Score
	}
	return 1 / (k + float64(rank))
}

// normalize maps the value v of a hit of the list to a comparable scale
// (Montague and Aslam, "Relevance Score Normalization for Metasearch",
// CIKM 2001; Lee, SIGIR 1997), with min, max, μ, σ and ‖·‖₂ taken over the
// list's top Depth values:
//
//	minmax  (v − min) / (max − min)   1 when all values are equal
//	zscore  (v − μ) / σ               0 when σ = 0
//	l2      v / ‖v‖₂                  0 when the norm is 0
//	max     v / |max|                 0 when max = 0
//	none    v
//
// Hits below the Depth cut keep the same formula, so minmax may fall below 0
// there.
func (st *stats) normalize(n Normalizer, v float64) float64 {
	if n == None {
		return v
	}
	if st.n == 0 {
		return 0
	}
	x := v / st.scale
	switch n {
	case ZScore:
		return ratio(x-st.mean, st.std)
	case L2:
		return ratio(x, st.l2)
	case Max:
		return ratio(x, math.Abs(st.max))
	}
	if st.max == st.min {
		return 1
	}
	return (x - st.min) / (st.max - st.min)
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// depthOf is the statistics depth of the options: 0 and negative mean 100.
func depthOf(opts *Options) int {
	if opts.Depth <= 0 {
		return defaultDepth
	}
	return opts.Depth
}

package merge

import (
	"slices"
	"sort"
)

// calibrationKnots is how many points of a shard's score history its
// quantile table keeps. On the Debian-archive harness 64 knots order the
// top 10 as the whole sorted history (1,000 scores) does, and a lookup is
// a binary search over at most 64 values.
const calibrationKnots = 64

// quantiles is one shard's calibration table: the empirical distribution
// function of its recent top scores, kept at up to calibrationKnots points.
// v is strictly ascending and p non-decreasing, p[i] in (0, 1). Built by
// Refresh, never modified afterwards: Merge reads it without locks.
type quantiles struct {
	v, p []float64
}

// newQuantiles builds the table of a sorted, non-empty sample h of n
// scores. Knot j sits on the sample value h[i], i = round(j·(n−1)/(m−1)),
// m = min(n, calibrationKnots) (so the smallest and largest values are
// always knots), and carries the mid-rank CDF
//
//	P(v) = (#{h < v} + ½·#{h = v}) / n
//
// Equal values make one knot.
func newQuantiles(h []float64) *quantiles {
	n := len(h)
	m := min(n, calibrationKnots)
	q := &quantiles{v: make([]float64, 0, m), p: make([]float64, 0, m)}
	for j := range m {
		i := 0
		if m > 1 {
			i = (2*j*(n-1) + (m - 1)) / (2 * (m - 1)) // round(j·(n−1)/(m−1))
		}
		v := h[i]
		if len(q.v) > 0 && q.v[len(q.v)-1] == v {
			continue
		}
		below := sort.SearchFloat64s(h, v)
		equal := sort.Search(n-below, func(k int) bool { return h[below+k] > v })
		q.v = append(q.v, v)
		q.p = append(q.p, (float64(below)+float64(equal)/2)/float64(n))
	}
	return q
}

// at is the calibrated value of a score x: the table's CDF, linear between
// knots,
//
//	F(x) = 0                                          x < v_1
//	F(x) = p_j + (p_{j+1} − p_j)·(x − v_j)/(v_{j+1} − v_j)   v_j ≤ x < v_{j+1}
//	F(x) = p_m at x = v_m, 1 for x > v_m
//
// Scores beyond the history clamp to 0 or 1; Merge's tie-breaks (best
// rank, then shard order) then order them, so a shard's own order is kept
// and shards alternate among hits all above (or all below) their history.
func (q *quantiles) at(x float64) float64 {
	n := len(q.v)
	if n == 0 || x < q.v[0] {
		return 0
	}
	if x > q.v[n-1] {
		return 1
	}
	i, _ := slices.BinarySearch(q.v, x)
	return q.interp(i, x)
}

// interp is F(x) for v_1 ≤ x ≤ v_m, i the index of the first knot ≥ x.
func (q *quantiles) interp(i int, x float64) float64 {
	if q.v[i] == x {
		return q.p[i]
	}
	// Halves: the differences of extreme finite scores stay finite. min:
	// rounding must not lift a score above the next knot's value.
	a, b := q.v[i-1], q.v[i]
	t := (x/2 - a/2) / (b/2 - a/2)
	return min(q.p[i-1]+(q.p[i]-q.p[i-1])*t, q.p[i])
}

// cursor looks up one list's scores in its shard's table. A list comes in
// rank order, so its scores mostly fall: the cursor walks down from the
// previous score's knot, amortized O(1) a hit instead of a binary search
// (measured: the lookups of 10 shards × 100 hits from about 30 µs to a few),
// and searches afresh when a score rises.
type cursor struct {
	q *quantiles
	i int // index of the first knot ≥ the previous score
}

// at is c.q.at(x), exactly; x itself without a table (identical scales).
func (c *cursor) at(x float64) float64 {
	q := c.q
	if q == nil {
		return x
	}
	n := len(q.v)
	if n == 0 || x < q.v[0] {
		return 0
	}
	if x > q.v[n-1] {
		return 1
	}
	i := min(c.i, n-1)
	if q.v[i] < x {
		i, _ = slices.BinarySearch(q.v, x)
	} else {
		for i > 0 && q.v[i-1] >= x {
			i--
		}
	}
	c.i = i
	return q.interp(i, x)
}

// blend is the table of λ·F_a + (1−λ)·F_b, 0 ≤ λ ≤ 1: both tables are
// evaluated on the union of their knots and the result is again linear
// between knots (across the edge of one table's range, where that table
// jumps from 0 or to 1, the blend ramps linearly instead).
func blend(a, b *quantiles, lambda float64) *quantiles {
	if lambda >= 1 {
		return a
	}
	if lambda <= 0 {
		return b
	}
	q := &quantiles{v: make([]float64, 0, len(a.v)+len(b.v)), p: make([]float64, 0, len(a.v)+len(b.v))}
	i, j := 0, 0
	for i < len(a.v) || j < len(b.v) {
		var x float64
		switch {
		case j == len(b.v) || i < len(a.v) && a.v[i] < b.v[j]:
			x = a.v[i]
			i++
		case i == len(a.v) || b.v[j] < a.v[i]:
			x = b.v[j]
			j++
		default: // equal
			x = a.v[i]
			i, j = i+1, j+1
		}
		q.v = append(q.v, x)
		q.p = append(q.p, lambda*a.at(x)+(1-lambda)*b.at(x))
	}
	return q
}

// calibrate applies Calibrated when the last Refresh of a built a quantile
// table for every list's shard, and reports whether it did.
func calibrate(m *Merger, lists []List, occs []occ, groups []group, a *Auto) bool {
	curs, ok := a.tables(lists, m.curs[:0])
	if ok {
		calibratedFuse(lists, curs, occs, groups)
	}
	clear(curs) // a kept Merger must not hold old snapshots alive
	m.curs = curs[:0]
	return ok
}

// calibratedFuse is the Calibrated strategy: each hit's engine score is
// mapped through its shard's calibration table (see quantiles.at and
// Auto.Refresh), weighted and summed per document (CombSUM, as Score does),
//
//	score(d) = Σ_s w_s · F_s(v_s(d))
//
// F_s(x) is the share of shard s's recent top-10 scores below x (ties
// counting half), blended with the same share over all shards' pooled
// scores when the fleet is close to homogeneous, and x itself when the
// shards' scales are nearly identical (see Auto.Refresh). On a random split with
// different scorers this puts the shards on one scale; on a topical split
// it keeps what raw scores keep and RRF loses: a shard answering far above
// its usual level ranks first.
// Source.Normalized is F_s(v_s(d)), Source.Contribution w_s·F_s(v_s(d)).
func calibratedFuse(lists []List, curs []cursor, occs []occ, groups []group) {
	for i := range occs { // each list's occurrences in rank order
		o := &occs[i]
		l := &lists[o.list]
		o.norm = curs[o.list].at(l.Hits[o.rank-1].Score)
		o.contrib = weight(l) * o.norm
	}
	sumContrib(occs, groups)
}

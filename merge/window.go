package merge

import (
	"cmp"
	"math"
	"slices"
)

// order returns the group indices in fused order: higher score first, then
// better best rank, then lower shard index. The best occurrence (rank, shard)
// of a group is unique, so the documented last tie-break, the ID, is never
// reached and no string is compared.
func order(occs []occ, groups []group) []int32 {
	idx := make([]int32, len(groups))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		ga, gb := &groups[a], &groups[b]
		if c := cmp.Compare(gb.score, ga.score); c != 0 {
			return c
		}
		oa, ob := &occs[ga.first], &occs[gb.first]
		if c := cmp.Compare(oa.rank, ob.rank); c != 0 {
			return c
		}
		return cmp.Compare(oa.list, ob.list)
	})
	return idx
}

// window cuts [offset, offset+limit) out of n items; limit ≤ 0 means all
// from offset on. Negative offsets count as 0.
func window(n, offset, limit int) (lo, hi int) {
	lo = min(max(offset, 0), n)
	hi = n
	if limit > 0 && limit < n-lo {
		hi = lo + limit
	}
	return lo, hi
}

// build turns the ordered groups of the window into Fused hits. All Sources
// of the page share one backing array.
func build(lists []List, occs []occ, groups []group, idx []int32) []Fused {
	if len(idx) == 0 {
		return nil
	}
	n := 0
	for _, g := range idx {
		n += int(groups[g].n)
	}
	srcs := make([]Source, 0, n)
	out := make([]Fused, len(idx))
	for i, g := range idx {
		start := len(srcs)
		for o := groups[g].first; o >= 0; o = occs[o].next {
			oc := &occs[o]
			l := &lists[oc.list]
			srcs = append(srcs, Source{
				Shard:        l.Shard,
				Rank:         int(oc.rank),
				Raw:          finite(rawScore(&l.Hits[oc.rank-1])),
				Normalized:   finite(oc.norm),
				Contribution: finite(oc.contrib),
			})
		}
		best := &occs[groups[g].first]
		out[i] = Fused{
			Hit:     lists[best.list].Hits[best.rank-1],
			Shard:   lists[best.list].Shard,
			Rank:    int(best.rank),
			Score:   finite(groups[g].score),
			Sources: srcs[start:len(srcs):len(srcs)],
		}
	}
	return out
}

// rawScore is the engine's score, or 0 when it gives none.
func rawScore(h *Hit) float64 {
	if !h.Scored {
		return 0
	}
	return h.Score
}

// finite keeps results encodable as JSON: NaN becomes 0 and ±Inf the largest
// finite float of that sign. Inputs are checked, so only extreme but finite
// engine scores can overflow into these.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

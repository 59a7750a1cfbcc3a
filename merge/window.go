package merge

import (
	"math"
	"slices"
)

// key is the sort key of a group: its fused score (finite, see finite) and
// its best occurrence as rank<<32 | list. The best occurrence of a group is
// unique, so keys never tie and the documented last tie-break, the ID, is
// never reached.
type key struct {
	score float64
	pos   uint64
	g     int32
}

// before is the fused order: higher score, then better rank, then lower
// shard index.
func (a *key) before(b *key) bool {
	return a.score > b.score || a.score == b.score && a.pos < b.pos
}

// top returns the groups of the window [lo, hi) of the fused order. A small
// window (the usual page) is selected with a bounded heap of hi keys in
// O(n log hi) instead of sorting all n groups; either way the order is the
// same total order, so pages of one input tile its full list.
func top(m *Merger, occs []occ, groups []group, lo, hi int) []int32 {
	var keys []key
	if hi < len(groups)/4 {
		keys = selectTop(m.keys[:0], occs, groups, hi)
	} else {
		keys = m.keys[:0]
		for g := range groups {
			keys = append(keys, keyOf(occs, groups, g))
		}
	}
	m.keys = keys
	slices.SortFunc(keys, func(a, b key) int {
		if a.before(&b) {
			return -1
		}
		return 1 // keys never tie
	})
	idx := m.idx[:0]
	for _, k := range keys[lo:hi] {
		idx = append(idx, k.g)
	}
	m.idx = idx
	return idx
}

func keyOf(occs []occ, groups []group, g int) key {
	o := &occs[groups[g].first]
	return key{score: groups[g].score, pos: uint64(o.rank)<<32 | uint64(o.list), g: int32(g)}
}

// selectTop returns the keys of the m first groups of the fused order, in
// no particular order: a heap (in buf) whose root is the last of the m kept.
func selectTop(buf []key, occs []occ, groups []group, m int) []key {
	h := slices.Grow(buf[:0], m)
	for g := range groups {
		k := keyOf(occs, groups, g)
		switch {
		case len(h) < m:
			h = append(h, k)
			if len(h) == m {
				for i := m/2 - 1; i >= 0; i-- {
					siftDown(h, i)
				}
			}
		case m > 0 && k.before(&h[0]):
			h[0] = k
			siftDown(h, 0)
		}
	}
	return h
}

// siftDown restores the heap property below i: every parent comes after
// its children in the fused order.
func siftDown(h []key, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c].before(&h[c+1]) {
			c++
		}
		if !h[i].before(&h[c]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// build turns the ordered groups of the window into Fused hits. All Sources
// of the page share one backing array.
func build(lists []List, occs []occ, groups []group, idx []int32) []Fused {
	if len(idx) == 0 {
		return []Fused{} // encodes as [], not null
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

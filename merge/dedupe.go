package merge

import (
	"hash/maphash"
	"slices"
)

// occ is one shard occurrence of a hit: lists[list].Hits[rank-1].
type occ struct {
	list, rank int32
	// next links the occurrences of one group, best first; -1 ends it.
	next int32
	// norm and contrib become Source.Normalized and Source.Contribution.
	norm, contrib float64
}

// group is one fused hit in the making: a dedupe key's occurrences.
type group struct {
	// first is the best occurrence (best rank, then shard order); last is
	// where the next occurrence gets linked.
	first, last int32
	n           int32
	// score is the fused score (strategies may keep an intermediate in it
	// until they set the score).
	score float64
}

// collect walks the lists rank level by rank level (every shard's rank 1,
// then every shard's rank 2, ...), so the first occurrence met of a key is its
// best one and the chain of a group is already in "best first" order without
// sorting. With dedupe, hits sharing a non-empty ID join one group; a second
// occurrence of an ID in the same shard is dropped (a shard must not vote
// twice for one document). It reports how many occurrences were removed.
func collect(m *Merger, lists []List, dedupe bool) (occs []occ, groups []group, removed int) {
	n, maxLen := 0, 0
	for i := range lists {
		n += len(lists[i].Hits)
		maxLen = max(maxLen, len(lists[i].Hits))
	}
	occs = slices.Grow(m.occs[:0], n)
	groups = slices.Grow(m.groups[:0], n)
	var ids idTable
	if dedupe {
		ids = newIDTable(m.slots, n)
		m.slots = ids.slots
	}
	for r := range maxLen {
		for l := range lists {
			hits := lists[l].Hits
			if r >= len(hits) {
				continue
			}
			o := occ{list: int32(l), rank: int32(r + 1), next: -1}
			var slot *idSlot
			if dedupe && hits[r].ID != "" {
				slot = ids.find(hits[r].ID, lists, occs, groups)
			}
			if slot == nil || slot.g == 0 {
				if slot != nil {
					slot.g = int32(len(groups)) + 1
				}
				groups = append(groups, group{first: int32(len(occs)), last: int32(len(occs)), n: 1})
				occs = append(occs, o)
				continue
			}
			removed++
			g := &groups[slot.g-1]
			if hasList(occs, g.first, int32(l)) {
				continue
			}
			occs = append(occs, o)
			occs[g.last].next = int32(len(occs) - 1)
			g.last = int32(len(occs) - 1)
			g.n++
		}
	}
	return occs, groups, removed
}

// hasList reports whether the chain starting at i has an occurrence from list l.
func hasList(occs []occ, i, l int32) bool {
	for ; i >= 0; i = occs[i].next {
		if occs[i].list == l {
			return true
		}
	}
	return false
}

// idTable finds the group of an ID: open addressing with linear probing in a
// power-of-two table at most half full, keyed by maphash under a seed drawn
// per call (crafted IDs cannot force collisions across calls). For this
// one-shot set it is one allocation and cheaper than a map; the groups, not
// the table, decide the output order, so the seed never shows.
type idTable struct {
	seed  maphash.Seed
	slots []idSlot
	mask  uint64
}

// idSlot is one table entry: the ID's hash and its group index + 1 (0 when
// empty, so a fresh table needs no initialisation).
type idSlot struct {
	h uint32
	g int32
}

// newIDTable returns an empty table for n IDs, reusing buf when it is
// large enough.
func newIDTable(buf []idSlot, n int) idTable {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(buf) >= size {
		buf = buf[:size]
		clear(buf)
	} else {
		buf = make([]idSlot, size)
	}
	return idTable{seed: maphash.MakeSeed(), slots: buf, mask: uint64(size - 1)}
}

// find returns the slot of id: its group's, or the empty slot where it
// belongs (g == 0), which the caller fills.
func (t *idTable) find(id string, lists []List, occs []occ, groups []group) *idSlot {
	h := maphash.String(t.seed, id)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.g == 0 {
			s.h = uint32(h)
			return s
		}
		if s.h == uint32(h) {
			o := &occs[groups[s.g-1].first]
			if lists[o.list].Hits[o.rank-1].ID == id {
				return s
			}
		}
	}
}

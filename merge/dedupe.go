package merge

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
	score       float64
	// aux holds a strategy's per-group intermediate (RRF+z: the RRF sum).
	aux float64
}

// collect walks the lists rank level by rank level (every shard's rank 1,
// then every shard's rank 2, ...), so the first occurrence met of a key is its
// best one and the chain of a group is already in "best first" order without
// sorting. With dedupe, hits sharing a non-empty ID join one group; a second
// occurrence of an ID in the same shard is dropped (a shard must not vote
// twice for one document). It reports how many occurrences were removed.
func collect(lists []List, dedupe bool) (occs []occ, groups []group, removed int) {
	n, maxLen := 0, 0
	for i := range lists {
		n += len(lists[i].Hits)
		maxLen = max(maxLen, len(lists[i].Hits))
	}
	occs = make([]occ, 0, n)
	groups = make([]group, 0, n)
	var byID map[string]int32
	if dedupe {
		byID = make(map[string]int32, n)
	}
	for r := range maxLen {
		for l := range lists {
			hits := lists[l].Hits
			if r >= len(hits) {
				continue
			}
			o := occ{list: int32(l), rank: int32(r + 1), next: -1}
			id := hits[r].ID
			if !dedupe || id == "" {
				groups = append(groups, group{first: int32(len(occs)), last: int32(len(occs)), n: 1})
				occs = append(occs, o)
				continue
			}
			g, seen := byID[id]
			if !seen {
				byID[id] = int32(len(groups))
				groups = append(groups, group{first: int32(len(occs)), last: int32(len(occs)), n: 1})
				occs = append(occs, o)
				continue
			}
			removed++
			if hasList(occs, groups[g].first, int32(l)) {
				continue
			}
			occs = append(occs, o)
			occs[groups[g].last].next = int32(len(occs) - 1)
			groups[g].last = int32(len(occs) - 1)
			groups[g].n++
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

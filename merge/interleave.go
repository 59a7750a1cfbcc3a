package merge

// interleave is the Interleave strategy: a round robin over the shards, for
// diversity rather than relevance. Every shard's rank 1 comes first (in shard
// order), then every shard's rank 2, and so on:
//
//	score(d) = 1 / min_s rank_s(d)
//
// and ties break by best rank, then shard order, which is exactly the round
// robin. Weights and engine scores are ignored. With dedupe a document takes
// the slot of its best occurrence and later slots close up. Source.Normalized
// is 1/rank; the best source carries the whole Contribution, the others 0.
func interleave(occs []occ, groups []group) {
	for i := range occs {
		occs[i].norm = 1 / float64(occs[i].rank)
		occs[i].contrib = occs[i].norm
	}
	maxContrib(occs, groups)
}

package merge

// scoreFuse is the Score strategy: each shard's values are normalized on
// their own (see stats.normalize), weighted and combined per document as in
// Fox and Shaw, "Combination of Multiple Searches", TREC-2 (1994):
//
//	CombSUM  score(d) = Σ_s w_s · N_s(v_s(d))
//	CombMNZ  score(d) = m(d) · Σ_s w_s · N_s(v_s(d))
//
// where m(d) is the number of shards that returned d. Source.Normalized is
// N_s(v_s(d)) and Source.Contribution its share of the score (for CombMNZ
// already multiplied by m(d)), so contributions sum to the score.
func scoreFuse(lists []List, sts []stats, occs []occ, groups []group, n Normalizer, c Combine, k float64) {
	for i := range occs {
		o := &occs[i]
		l, st := &lists[o.list], &sts[o.list]
		o.norm = st.normalize(n, value(l, st, int(o.rank), k))
		o.contrib = weight(l) * o.norm
	}
	if c == MNZ {
		for g := range groups {
			m := float64(groups[g].n)
			for o := groups[g].first; o >= 0; o = occs[o].next {
				occs[o].contrib *= m
			}
		}
	}
	sumContrib(occs, groups)
}

// rawFuse is the Raw strategy: the engines' scores as they are, times the
// shard's weight,
//
//	score(d) = max_s w_s · v_s(d)
//
// Right only when every shard runs the same engine and scorer (on the
// Debian-archive harness, integration/cmd/quality: 0.92 overlap@10 with a
// central index over bleve BM25 ×3, 0.35–0.46 over bleve BM25 / PostgreSQL
// / Groonga). A document in several shards takes its
// highest score (the same scorer would give it one score, not a sum); the
// source holding it carries the whole Contribution, the others 0. Rank-only
// shards contribute 1/(k+rank), which is not comparable to engine scores:
// use RRF, RRFZ or AutoChoice when a shard is rank-only.
func rawFuse(lists []List, sts []stats, occs []occ, groups []group, k float64) {
	for i := range occs {
		o := &occs[i]
		l := &lists[o.list]
		o.norm = value(l, &sts[o.list], int(o.rank), k)
		o.contrib = weight(l) * o.norm
	}
	maxContrib(occs, groups)
}

// maxContrib sets every group's score to its largest contribution (the
// first, i.e. best-ranked, on ties) and zeroes the other contributions.
func maxContrib(occs []occ, groups []group) {
	for g := range groups {
		top := groups[g].first
		for o := occs[top].next; o >= 0; o = occs[o].next {
			if occs[o].contrib > occs[top].contrib {
				top = o
			}
		}
		for o := groups[g].first; o >= 0; o = occs[o].next {
			if o != top {
				occs[o].contrib = 0
			}
		}
		groups[g].score = occs[top].contrib
	}
}

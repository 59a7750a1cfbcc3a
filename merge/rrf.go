package merge

// defaultK is the RRF constant of Cormack, Clarke and Büttcher (2009).
const defaultK = 60

// rrf scores each group by Reciprocal Rank Fusion (Cormack, Clarke and
// Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual
// Rank Learning Methods", SIGIR 2009):
//
//	score(d) = Σ_s weight_s / (k + rank_s(d))
//
// rank from 1. Each source's Normalized is 1/(k+rank) and its Contribution
// weight/(k+rank); contributions sum to the fused score.
func rrf(lists []List, occs []occ, groups []group, k float64) {
	for i := range occs {
		o := &occs[i]
		o.norm = 1 / (k + float64(o.rank))
		o.contrib = weight(&lists[o.list]) * o.norm
	}
	sumContrib(occs, groups)
}

// sumContrib sets every group's score to the sum of its contributions.
func sumContrib(occs []occ, groups []group) {
	for g := range groups {
		s := 0.0
		for o := groups[g].first; o >= 0; o = occs[o].next {
			s += occs[o].contrib
		}
		groups[g].score = s
	}
}

// weight is the list's weight: 0, negative and NaN mean 1, and weights are
// capped at maxWeight.
func weight(l *List) float64 {
	if !(l.Weight > 0) {
		return 1
	}
	return min(l.Weight, maxWeight)
}

// maxWeight bounds weights, so that a mistyped weight cannot push fused
// scores toward overflow.
const maxWeight = 1e6

// kOf is the RRF constant of the options: 0, negative and NaN mean 60; it is
// capped at 1e12.
func kOf(opts *Options) float64 {
	if !(opts.K > 0) {
		return defaultK
	}
	return min(opts.K, 1e12)
}

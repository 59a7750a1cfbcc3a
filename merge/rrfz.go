package merge

import "math"

// rrfz is the RRFZ strategy ("RRF+z"): the average of a document's
// per-shard z-score and its z-scored RRF value,
//
//	z_s(d)  = (v_s(d) − μ_s) / σ_s                 per shard, top Depth values
//	Z(d)    = Σ_s w_s·z_s(d) / Σ_s w_s             over the shards that returned d
//	R(d)    = Σ_s w_s / (k + rank_s(d))            RRF (Cormack et al. 2009)
//	score(d) = ½·Z(d) + ½·(R(d) − μ_R) / σ_R
//
// μ_R and σ_R are taken over the fused documents whose best rank is within
// Depth. The z-score orders documents within a rank level, the RRF term keeps
// the shards interleaved and rewards documents found by several shards.
// Weights act through R and as the weights of the mean Z; a rank-only shard's
// z-scores are those of its rank-derived values 1/(k+rank). Source.Normalized
// is z_s(d); Source.Contribution is ½·w_s·z_s/Σw + ½·(w_s/(k+rank_s) − μ_R/m)/σ_R
// with m the number of sources, so contributions sum to the score.
func rrfz(lists []List, sts []stats, occs []occ, groups []group, k float64, depth int) {
	for i := range occs {
		o := &occs[i]
		l, st := &lists[o.list], &sts[o.list]
		o.norm = st.normalize(ZScore, value(l, st, int(o.rank), k))
	}
	n, sum := 0, 0.0
	for g := range groups {
		r := 0.0
		for o := groups[g].first; o >= 0; o = occs[o].next {
			r += weight(&lists[occs[o].list]) / (k + float64(occs[o].rank))
		}
		groups[g].score = r // R(d) until rrfzGroup sets the score
		if int(occs[groups[g].first].rank) <= depth {
			n++
			sum += r
		}
	}
	mu, sigma := 0.0, 0.0
	if n > 0 {
		mu = sum / float64(n)
		dev := 0.0
		for g := range groups {
			if int(occs[groups[g].first].rank) <= depth {
				dev += (groups[g].score - mu) * (groups[g].score - mu)
			}
		}
		sigma = math.Sqrt(dev / float64(n))
	}
	for g := range groups {
		rrfzGroup(lists, occs, &groups[g], k, mu, sigma)
	}
}

// rrfzGroup splits one document's RRF+z score into its sources'
// contributions and sets the score to their sum.
func rrfzGroup(lists []List, occs []occ, g *group, k, mu, sigma float64) {
	wsum := 0.0
	for o := g.first; o >= 0; o = occs[o].next {
		wsum += weight(&lists[occs[o].list])
	}
	m := float64(g.n)
	score := 0.0
	for o := g.first; o >= 0; o = occs[o].next {
		oc := &occs[o]
		w := weight(&lists[oc.list])
		c := 0.5 * w * oc.norm / wsum
		if sigma > 0 {
			c += 0.5 * (w/(k+float64(oc.rank)) - mu/m) / sigma
		}
		oc.contrib = c
		score += c
	}
	g.score = score
}

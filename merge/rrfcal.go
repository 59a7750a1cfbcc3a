package merge

import "math"

// rrfCalibratedShare is the calibrated term's share in RRFCalibrated. Tuned
// on the Debian-archive harness (integration/cmd/quality) over the 200
// debtags-description queries, for bleve BM25 / PostgreSQL / Groonga shards:
// of 0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4 and 0.5, 0.1 had the smallest worst
// gap to the best strategy over the six rows (two splits × three
// references). Checked on 300 title-keyword queries.
const rrfCalibratedShare = 0.1

// rrfCalibratedTopicalShare is the share when Options.Topical declares a
// topical split. Tuned on the same harness over the topical split alone,
// tag descriptions and title keywords (shares 0 to 1 in steps of 0.05: 0.4
// had the most of the six rows within 0.01 of the best strategy, five,
// and the smallest worst gap among those), then checked on 20,000
// documents (default queries and title keywords: six of six rows within
// 0.01). On a hash split the same share loses up to 0.05 to RRF, so it is
// never applied undeclared.
const rrfCalibratedTopicalShare = 0.4

// rrfCalibrate applies RRFCalibrated when the last Refresh of a built a
// quantile table for every list's shard, and reports whether it did.
func rrfCalibrate(m *Merger, lists []List, occs []occ, groups []group, a *Auto, k float64, depth int, share float64) bool {
	curs, ok := a.tables(lists, m.curs[:0])
	if ok {
		rrfCalibratedFuse(lists, curs, occs, groups, k, depth, share)
	}
	clear(curs)
	m.curs = curs[:0]
	return ok
}

// rrfCalibratedFuse is the RRFCalibrated strategy, for shards whose scores
// are in unrelated units: RRF, moved a little by the calibrated scores,
//
//	R(d) = Σ_s w_s / (k + rank_s(d))        RRF
//	C(d) = Σ_s w_s · F_s(v_s(d))            Calibrated
//	score(d) = (1−β)·(R(d) − μ_R)/σ_R + β·(C(d) − μ_C)/σ_C
//
// with β = share: 0.1, or 0.4 on a declared topical split.
// μ and σ (population) over the fused documents whose best rank is within
// Depth (so that scores do not change with the page size, as for RRFZ); a
// term whose σ is 0 is left out. RRF interleaves the shards whatever they answer; the calibrated
// term lets a shard answering far above its own usual level (on a topical
// split, the shard holding the topic) move up, without putting unrelated
// scorers on one scale, which on a random split loses to RRF.
// Source.Normalized is F_s(v_s(d)); Source.Contribution is
// (1−β)·(w_s/(k+rank_s) − μ_R/m)/σ_R + β·(w_s·F_s − μ_C/m)/σ_C, m the
// number of sources, so that contributions sum to the score.
func rrfCalibratedFuse(lists []List, curs []cursor, occs []occ, groups []group, k float64, depth int, share float64) {
	for i := range occs {
		o := &occs[i]
		o.norm = curs[o.list].at(lists[o.list].Hits[o.rank-1].Score)
		o.contrib = weight(&lists[o.list]) * o.norm
	}
	sumContrib(occs, groups) // C(d)
	top := func(g *group) bool { return int(occs[g.first].rank) <= depth }
	score := func(g *group) float64 { return g.score }
	muC, sigmaC := meanStd(groups, top, score)
	for g := range groups { // R(d), until the loop below sets the score
		r := 0.0
		for o := groups[g].first; o >= 0; o = occs[o].next {
			r += weight(&lists[occs[o].list]) / (k + float64(occs[o].rank))
		}
		groups[g].score = r
	}
	muR, sigmaR := meanStd(groups, top, score)
	a, b := 0.0, 0.0 // weights of the standardized terms
	if sigmaR > 0 {
		a = (1 - share) / sigmaR
	}
	if sigmaC > 0 {
		b = share / sigmaC
	}
	for g := range groups {
		m := float64(groups[g].n)
		sum := 0.0
		for o := groups[g].first; o >= 0; o = occs[o].next {
			oc := &occs[o]
			w := weight(&lists[oc.list])
			oc.contrib = a*(w/(k+float64(oc.rank))-muR/m) + b*(oc.contrib-muC/m)
			sum += oc.contrib
		}
		groups[g].score = sum
	}
}

// meanStd is the mean and population standard deviation of f over the
// groups in.
func meanStd(groups []group, in func(*group) bool, f func(*group) float64) (mu, sigma float64) {
	n := 0
	for g := range groups {
		if in(&groups[g]) {
			mu += f(&groups[g])
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	mu /= float64(n)
	for g := range groups {
		if in(&groups[g]) {
			d := f(&groups[g]) - mu
			sigma += d * d
		}
	}
	return mu, math.Sqrt(sigma / float64(n))
}

package merge

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// History kept by Auto: the top scores of the last historyQueries observed
// answers per shard, historyQueries × topPerQuery × 8 bytes = 8 KB a shard.
// Refresh keeps two scratch copies of the same size (per shard and pooled)
// and publishes a calibration table of at most 2 KB a shard: about 26 KB a
// shard, 260 KB for ten. 100 answers rather than 50: calibrated on the 100
// answers before each query, the harness's BM25 / TF-IDF fleets came
// 0.008–0.012 overlap@10 closer to the central index than on 50.
const (
	historyQueries = 100
	topPerQuery    = 10
	ringSize       = historyQueries * topPerQuery
	// minSamples is how many scores every shard needs before the test can
	// call the fleet homogeneous or calibrate it (ten full answers).
	minSamples = 10 * topPerQuery
	// maxAutoShards bounds the shards tracked, and so the memory.
	maxAutoShards = 64
	// The thresholds on the largest two-sample Kolmogorov–Smirnov distance
	// D between two shards' recent scores, from the Debian-archive harness
	// (integration/cmd/quality, each query merged with the history of the
	// 100 queries before it). Same-scorer fleets measured D = 0.026–0.165,
	// bleve BM25 next to TF-IDF 0.166–0.603, BM25 / PostgreSQL / Groonga 1:
	// no threshold separates the first two, hence the blend below.
	//
	// ksHomogeneous: D up to it is "same scorer", Raw.
	ksHomogeneous = 0.1
	// ksCalibrated: from D = ksCalibrated on, each shard is calibrated on
	// its own history only; between ksHomogeneous and ksCalibrated its
	// table is blended with the fleet's pooled one, so that the choice has
	// no cliff where the two ranges meet (the pooled table alone orders as
	// Raw does).
	ksCalibrated = 0.2
	// ksComparable: from D = ksComparable on, shards score in unrelated
	// units (their score ranges hardly overlap) and calibration measured
	// worse than RRF (up to 0.15 overlap@10 on BM25 / PostgreSQL /
	// Groonga, where it beat RRF by 0.04–0.12 on BM25 / TF-IDF).
	ksComparable = 0.9
	// The thresholds on the scale gap G, the largest relative difference
	// between the same decile of two shards' recent scores (see scaleGap).
	// KS measures a shift against the spread of the scores, so two shards
	// of one engine whose scores differ by a constant 1 % are far apart by
	// KS when their scores sit in a narrow band, and per-shard tables then
	// map both shards' k-th hits to the same value: every pair ties and
	// rank and shard order decide. G does not depend on the spread.
	//
	// gapIdentical: G up to it is "the same scale", Raw whatever D says.
	gapIdentical = 0.02
	// gapDistinct: from G = gapDistinct on, G does not limit the blend
	// weight λ; between gapIdentical and gapDistinct it caps λ linearly.
	gapDistinct = 0.05
)

// Auto chooses, for the AutoChoice strategy, between Raw (the shards' score
// distributions match: same engine and scorer), Calibrated (they differ but
// overlap: related scorers at different scales) and RRF (anything else:
// unrelated engines, rank-only shards, too little history); see Refresh. It
// keeps a small ring of each shard's recent top scores and, from them, each
// shard's calibration table for Calibrated.
//
// Observe is cheap and meant for the request path; Refresh runs the test and
// builds the tables and is meant to be called OFF the request path,
// periodically (every few seconds, from the caller's own ticker; Auto starts
// no goroutine). Choice and Merge read the outcome of the last Refresh, an
// immutable snapshot behind an atomic pointer, without locks. All methods
// are safe for concurrent use. The zero value is ready to use and has no
// operator hint.
type Auto struct {
	homogeneous bool // operator hint: always Raw

	mu     sync.Mutex // guards shards and their rings
	shards map[string]*ring

	refresh sync.Mutex // held by one Refresh at a time; guards scratch and pool
	scratch []sample
	pool    []float64

	last atomic.Pointer[verdict] // nil until the first Refresh
}

// verdict is the outcome of one Refresh. Never modified once published.
type verdict struct {
	choice Strategy // Raw, Calibrated, RRFCalibrated or RRF
	dist   float64  // largest pairwise KS distance; NaN without enough history
	gap    float64  // largest pairwise scale gap; NaN without enough history
	// identity: the scales are nearly identical (λ = 0), and Calibrated
	// applies every shard's scores as they are.
	identity bool
	// tables holds every shard's calibration table when every shard had
	// at least minSamples recorded scores, else nothing.
	tables map[string]*quantiles
}

// sample is one shard's copied history, sorted by Refresh.
type sample struct {
	shard  string
	scores []float64
}

// ring holds one shard's most recent scores.
type ring struct {
	buf  [ringSize]float64
	next int // index of the next write
	n    int // number of valid scores, ≤ ringSize
}

// NewAuto returns an Auto. homogeneous is the operator's word that every
// shard runs the same engine and scorer over a random split of the data: it
// forces Raw whatever the history says (Merge still uses RRF for an answer
// in which a shard is rank-only).
func NewAuto(homogeneous bool) *Auto {
	return &Auto{homogeneous: homogeneous}
}

// Observe records the top 10 scores of each list; a list whose top hits are
// not all scored (rank-only) records none, so its shard keeps the fleet
// non-homogeneous. Call it
// with every successful answer, before or after Merge.
func (a *Auto) Observe(lists []List) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range lists {
		l := &lists[i]
		if len(l.Hits) == 0 {
			continue
		}
		// A rank-only shard gets an empty ring, which keeps Refresh
		// from calling the fleet homogeneous.
		r := a.ring(l.Shard)
		top := l.Hits[:min(len(l.Hits), topPerQuery)]
		if r == nil || !isScored(top) {
			continue
		}
		for j := range top {
			r.buf[r.next] = l.Hits[j].Score
			r.next = (r.next + 1) % ringSize
			r.n = min(r.n+1, ringSize)
		}
	}
}

// ring returns the shard's ring, creating it while under maxAutoShards.
// a.mu must be held.
func (a *Auto) ring(shard string) *ring {
	if r, ok := a.shards[shard]; ok {
		return r
	}
	if len(a.shards) >= maxAutoShards {
		return nil
	}
	if a.shards == nil {
		a.shards = make(map[string]*ring)
	}
	r := new(ring)
	a.shards[shard] = r
	return r
}

// Refresh recomputes the choice from the recorded history. With D the
// largest two-sample Kolmogorov–Smirnov distance between two shards' recent
// scores, G the largest scale gap (the relative difference between the same
// decile of two shards' recent scores, see scaleGap), every shard holding at
// least 100 recorded scores, and
//
//	λ = min(clamp((D − 0.1)/(0.2 − 0.1), 0, 1), clamp((G − 0.02)/(0.05 − 0.02), 0, 1))
//
// the choice is
//
//	λ = 0 (D ≤ 0.1 or G ≤ 0.02)       Raw            (same scorer, same scale)
//	D ≥ 0.9 and G ≥ 0.05              RRFCalibrated  (unrelated scoring units)
//	otherwise                         Calibrated     (related scorers, different scales)
//
// and RRF with less history. It also rebuilds every shard's calibration
// table, the CDF of its recent top scores blended with the CDF P of all
// shards' recent top scores pooled,
//
//	F_s = λ·F_s,own + (1 − λ)·P
//
// so that a fleet close to homogeneous is calibrated close to Raw's order
// (P is one increasing map for all shards) and a clearly heterogeneous one
// on each shard's own history. With λ = 0 Calibrated applies the scores as
// they are (F_s(x) = x): P would order as they do but ties every score
// beyond the history. Without a table for every shard of the fleet the
// choice is RRF. It holds the recording lock only to copy the rings
// (≤ 8 KB a shard); sorting, tests and tables are computed outside it, and
// the result is published as one immutable snapshot. A Refresh called while
// another runs returns at once. The same history gives the same outcome.
func (a *Auto) Refresh() {
	if !a.refresh.TryLock() {
		return
	}
	defer a.refresh.Unlock()
	samples := a.snapshot()
	v := &verdict{choice: RRF, tables: make(map[string]*quantiles, len(samples))}
	enough := len(samples) > 0
	pooled := 0
	for i := range samples {
		s := samples[i].scores
		slices.Sort(s)
		enough = enough && len(s) >= minSamples
		pooled += len(s)
		for _, t := range samples[:i] {
			v.dist = max(v.dist, ksDistance(s, t.scores))
			v.gap = max(v.gap, scaleGap(s, t.scores))
		}
	}
	if !enough {
		v.dist, v.gap = math.NaN(), math.NaN()
		a.last.Store(v)
		return
	}
	a.pool = slices.Grow(a.pool[:0], pooled)
	for i := range samples {
		a.pool = append(a.pool, samples[i].scores...)
	}
	slices.Sort(a.pool)
	all := newQuantiles(a.pool)
	lambda := min(ramp(v.dist, ksHomogeneous, ksCalibrated), ramp(v.gap, gapIdentical, gapDistinct))
	for i := range samples {
		v.tables[samples[i].shard] = blend(newQuantiles(samples[i].scores), all, lambda)
	}
	v.identity = lambda == 0
	switch {
	case v.identity:
		v.choice = Raw
	case v.dist < ksComparable || v.gap < gapDistinct:
		v.choice = Calibrated
	default:
		v.choice = RRFCalibrated
	}
	a.last.Store(v)
}

// ramp is 0 for x ≤ lo, 1 for x ≥ hi and linear between.
func ramp(x, lo, hi float64) float64 {
	return min(max((x-lo)/(hi-lo), 0), 1)
}

// snapshot copies every ring into a.scratch. a.refresh must be held.
func (a *Auto) snapshot() []sample {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.scratch) < len(a.shards) {
		a.scratch = append(a.scratch, sample{scores: make([]float64, 0, ringSize)})
	}
	out := a.scratch[:0]
	for name, r := range a.shards {
		s := a.scratch[len(out)]
		out = append(out, sample{shard: name, scores: append(s.scores[:0], r.buf[:r.n]...)})
	}
	return out
}

// Choice is the strategy AutoChoice applies: Raw when the operator declared
// the fleet homogeneous, else the outcome of the last Refresh (Raw,
// Calibrated, RRFCalibrated, or RRF with too little history; RRF before the
// first Refresh). RRFCalibrated rather than RRF or RRFZ for unrelated
// engines: on the Debian-archive harness (integration/cmd/quality, bleve
// BM25 / PostgreSQL / Groonga) RRF lost up to 0.09 overlap@10 on a topical
// split and RRFZ up to 0.10 on title-keyword queries, depending on the
// query set; RRFCalibrated's worst gap to the best was smaller on both sets.
func (a *Auto) Choice() Strategy {
	if a.homogeneous {
		return Raw
	}
	if v := a.last.Load(); v != nil {
		return v.choice
	}
	return RRF
}

// Distance is the largest pairwise KS distance found by the last Refresh,
// NaN when it has not run or a shard had too little history. For status
// pages and metrics.
func (a *Auto) Distance() float64 {
	if v := a.last.Load(); v != nil {
		return v.dist
	}
	return math.NaN()
}

// ScaleGap is the largest pairwise scale gap found by the last Refresh (see
// scaleGap), NaN when it has not run or a shard had too little history. For
// status pages and metrics.
func (a *Auto) ScaleGap() float64 {
	if v := a.last.Load(); v != nil {
		return v.gap
	}
	return math.NaN()
}

// tables appends to buf a cursor on the calibration table of each list's
// shard, from the last Refresh; ok is false when a shard with hits has none
// (too little history, not tracked, or no Refresh yet). When the last
// Refresh found the scales nearly identical the cursors hold no table: they
// return scores as they are.
func (a *Auto) tables(lists []List, buf []cursor) (curs []cursor, ok bool) {
	v := a.last.Load()
	if v == nil {
		return buf, false
	}
	buf = slices.Grow(buf, len(lists))
	for i := range lists {
		if len(lists[i].Hits) == 0 { // nothing to look up
			buf = append(buf, cursor{})
			continue
		}
		q := v.tables[lists[i].Shard]
		if q == nil {
			return buf, false
		}
		if v.identity {
			buf = append(buf, cursor{})
			continue
		}
		buf = append(buf, cursor{q: q, i: len(q.v) - 1})
	}
	return buf, true
}

// ksDistance is the two-sample Kolmogorov–Smirnov statistic of two sorted
// samples, sup_x |F_a(x) − F_b(x)| over their empirical distribution
// functions; tied values are stepped over together in both samples.
func ksDistance(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 1
	}
	na, nb := float64(len(a)), float64(len(b))
	d := 0.0
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/na-float64(j)/nb))
	}
	return d
}

// scaleGap is how far apart the scales of two sorted samples are: the
// largest relative difference |x − y| / max(|x|, |y|) between their p-th
// quantiles x and y for p = 0.1, 0.2, …, 0.9 (0 where both are 0). Scores
// that differ by a constant factor 1 + ε have gap ε/(1 + ε) at every decile,
// however narrow their spread; the extremes, the noisiest quantiles of a
// sample, are left out.
func scaleGap(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 1
	}
	g := 0.0
	for d := 1; d <= 9; d++ {
		x := a[(2*d*(len(a)-1)+10)/20] // round(d/10·(n−1))
		y := b[(2*d*(len(b)-1)+10)/20]
		if m := max(math.Abs(x), math.Abs(y)); m > 0 {
			g = max(g, math.Abs(x-y)/m)
		}
	}
	return g
}

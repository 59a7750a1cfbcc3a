package merge

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// History kept by Auto: the top scores of the last historyQueries observed
// answers per shard, historyQueries × topPerQuery × 8 bytes = 4 KB a shard,
// about 40 KB for ten shards.
const (
	historyQueries = 50
	topPerQuery    = 10
	ringSize       = historyQueries * topPerQuery
	// minSamples is how many scores every shard needs before the test can
	// call the fleet homogeneous (ten full answers).
	minSamples = 10 * topPerQuery
	// maxAutoShards bounds the shards tracked, and so the memory.
	maxAutoShards = 64
	// ksHomogeneous is the largest two-sample Kolmogorov–Smirnov distance
	// between two shards' recent scores that still counts as "same scorer"
	// (QUALITY.md: right in 12 of 12 measured settings).
	ksHomogeneous = 0.2
)

// Auto chooses, for the AutoChoice strategy, between Raw (the shards' score
// distributions match: same engine and scorer, random split) and RRF
// (anything else). It keeps a small ring of each shard's recent top scores.
//
// Observe is cheap and meant for the request path; Refresh runs the test and
// is meant to be called OFF the request path, periodically (every few seconds,
// from the caller's own ticker; Auto starts no goroutine). Choice reads the
// outcome of the last Refresh. All methods are safe for concurrent use. The
// zero value is ready to use and has no operator hint.
type Auto struct {
	homogeneous bool // operator hint: always Raw

	mu     sync.Mutex // guards shards and their rings
	shards map[string]*ring

	refresh sync.Mutex // held by one Refresh at a time; guards scratch
	scratch [][]float64

	raw       atomic.Bool   // the last Refresh found the fleet homogeneous
	dist      atomic.Uint64 // float64 bits of the last largest KS distance
	refreshed atomic.Bool
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

// Refresh recomputes the choice from the recorded history: Raw when every
// shard has at least 100 recorded scores and every pair of shards' score
// distributions is within Kolmogorov–Smirnov distance 0.2, RRF otherwise.
// It holds the recording lock only to copy the rings (≤ 4 KB a shard); the
// sorting and the pairwise tests run outside it. A Refresh called while
// another runs returns at once.
func (a *Auto) Refresh() {
	if !a.refresh.TryLock() {
		return
	}
	defer a.refresh.Unlock()
	samples := a.snapshot()
	d := 0.0
	enough := len(samples) > 0
	for i, s := range samples {
		enough = enough && len(s) >= minSamples
		slices.Sort(s)
		for _, t := range samples[:i] {
			d = max(d, ksDistance(s, t))
		}
	}
	if !enough {
		d = math.NaN()
	}
	a.dist.Store(math.Float64bits(d))
	a.raw.Store(enough && d <= ksHomogeneous)
	a.refreshed.Store(true)
}

// snapshot copies every ring into a.scratch. a.refresh must be held.
func (a *Auto) snapshot() [][]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.scratch) < len(a.shards) {
		a.scratch = append(a.scratch, make([]float64, 0, ringSize))
	}
	out := a.scratch[:0]
	for _, r := range a.shards {
		s := a.scratch[len(out)][:0]
		out = append(out, append(s, r.buf[:r.n]...))
	}
	return out
}

// Choice is the strategy AutoChoice applies: Raw when the operator declared
// the fleet homogeneous or the last Refresh found it so, RRF otherwise
// (also before the first Refresh). RRF, not RRFZ: on the Debian-archive
// harness (integration/cmd/quality) RRFZ trailed RRF by 0.015–0.02
// overlap@10 on every mixed fleet, while RRF was the best method there.
func (a *Auto) Choice() Strategy {
	if a.homogeneous || a.raw.Load() {
		return Raw
	}
	return RRF
}

// Distance is the largest pairwise KS distance found by the last Refresh,
// NaN when it has not run or a shard had too little history. For status
// pages and metrics.
func (a *Auto) Distance() float64 {
	if !a.refreshed.Load() {
		return math.NaN()
	}
	return math.Float64frombits(a.dist.Load())
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

package health

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTau is the time constant of the peak-EWMA latency estimate: a sample
// older by tau weighs 1/e as much as a fresh one.
const DefaultTau = 10 * time.Second

// A failed call counts as at least minFailureCost and at most maxFailureCost
// (unless it really took longer): enough to steer traffic away from a replica
// that fails fast, bounded so it is retried within a few tau.
const (
	minFailureCost = float64(100 * time.Millisecond)
	maxFailureCost = float64(time.Minute)
)

// epoch anchors nanotime to the monotonic clock.
var epoch = time.Now()

// nanotime is a monotonic clock in nanoseconds; cheaper than keeping time.Time.
func nanotime() int64 { return int64(time.Since(epoch)) }

// peakEWMA is a latency estimate that jumps to any new peak at once and
// otherwise moves toward recent samples with time constant tau, as Finagle's
// and Linkerd's peak EWMA does: a replica that turns slow is avoided after one
// slow answer, and it is trusted again only gradually. Values are nanoseconds.
//
// Writers serialize on mu; readers load the two words without it. A reader that
// sees a new cost with an old stamp over-decays one read, which is harmless.
type peakEWMA struct {
	mu    sync.Mutex
	cost  atomic.Uint64 // math.Float64bits of the estimate
	stamp atomic.Int64  // nanotime of the last update
}

// observe folds one sample taken at now into the estimate.
func (e *peakEWMA) observe(now int64, rtt, tau float64) {
	e.mu.Lock()
	cost := math.Float64frombits(e.cost.Load())
	if rtt >= cost {
		cost = rtt
	} else {
		w := math.Exp(-float64(max(now-e.stamp.Load(), 0)) / tau)
		cost = cost*w + rtt*(1-w)
	}
	e.cost.Store(math.Float64bits(cost))
	e.stamp.Store(now)
	e.mu.Unlock()
}

// value returns the estimate at now. Without fresh samples it decays toward
// zero with time constant tau, so an idle replica that was slow gets probed
// again instead of being shunned forever (tower's PeakEwma does the same).
func (e *peakEWMA) value(now int64, tau float64) float64 {
	cost := math.Float64frombits(e.cost.Load())
	if cost == 0 {
		return 0
	}
	return cost * math.Exp(-float64(max(now-e.stamp.Load(), 0))/tau)
}

// failureCost is the latency a failed call counts as: twice the current cost
// or minFailureCost, whichever is larger, so fast failures (connection
// refused, a 503 in a millisecond) make a replica look worse, not better.
func failureCost(current, rtt float64) float64 {
	return max(rtt, min(max(2*current, minFailureCost), maxFailureCost))
}

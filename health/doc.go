// Package health tracks the latency and outcome of every call federate makes
// to a shard replica, and turns that record into routing decisions: how long
// to wait before hedging a slow shard, and which replica to send a request to.
//
// The pieces:
//
//   - [Tracker] records calls per upstream address: a peak-EWMA cost, sliding
//     window quantiles (p50, p95, p99), in-flight, request and failure counts.
//     Trackers live in a package-level [caddy.UsagePool] ([Acquire], [Release])
//     so their history survives config reloads.
//   - [HedgeDelay] and [Budget] decide when a hedge may be sent.
//   - [WithExcluded], [WithPicks] and [ExcludingSelector] make a hedge go to a
//     replica other than the one the primary request went to.
//   - [LatencySelection] (lb_policy latency) is a power-of-two-choices policy
//     over peak-EWMA latency × (in-flight+1), as Finagle and Linkerd balance.
//
// Invariants: per-address state is shared by every Tracker that observes the
// address, as Caddy shares a reverse_proxy Host by dial address, and it lives as
// long as some Tracker references it. Recording ([Tracker.Observe]) and the
// latency policy's selection take no global lock, and do not allocate (for
// pools of up to 16 upstreams).
package health

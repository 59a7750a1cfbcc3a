package caddyfederate

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
)

// clientReport is what a client may learn of a shard's outcome: its
// status, time, upstream status code and a generic reason, without the
// replica's address, dial errors or the upstream's error body, which name
// internal hosts and can echo another engine's data. The full report stays
// in the logs, the metrics and the admin API (last_failure); the route
// option expose_shard_errors sends it to clients, for debugging.
func (h *Handler) clientReport(r dialect.ShardReport) dialect.ShardReport {
	if h.ExposeShardErrors {
		return r
	}
	r.Replica = ""
	r.Reason = genericReason(r)
	return r
}

// genericReason is a reason that says what kind of failure a shard had,
// and nothing of where or why inside it.
func genericReason(r dialect.ShardReport) string {
	switch r.Status {
	case dialect.StatusOK, dialect.StatusSkipped:
		return r.Reason // federate's own words about the request
	case dialect.StatusTimeout:
		return "no answer before the deadline"
	case dialect.StatusUnavailable:
		return "no available replica"
	case dialect.StatusInvalid:
		if strings.HasPrefix(r.Reason, "answer larger than") {
			return "answer larger than max_response_size"
		}
		if strings.HasPrefix(r.Reason, "answer not buffered") {
			return "answer not buffered: the route is at its max_inflight_bytes"
		}
		return "the shard's answer was not valid"
	}
	switch {
	case r.HTTPStatus >= 400:
		return "the shard answered HTTP " + strconv.Itoa(r.HTTPStatus/100) + "xx"
	case r.Reason == reasonClientGone:
		return r.Reason
	}
	return "the shard could not be reached (connection failed)"
}

// reasonClientGone is the reason of a shard call cut short by the client.
const reasonClientGone = "the client went away before the shard answered"

// failure is a shard's last failed outcome, for the admin API.
type failure struct {
	At     time.Time      `json:"at"`
	Status dialect.Status `json:"status"`
	// Reason is the full reason, with addresses and upstream text.
	Reason     string `json:"reason"`
	Replica    string `json:"replica,omitempty"`
	HTTPStatus int    `json:"upstream_status,omitempty"`
}

// lastFailure holds a shard's last failure (a pointer in Shard, which
// Caddy copies by value).
type lastFailure struct{ p atomic.Pointer[failure] }

// noteOutcome records a failed outcome of s for the admin API.
func (s *Shard) noteOutcome(r dialect.ShardReport) {
	if r.Status == dialect.StatusOK || r.Status == dialect.StatusSkipped || s.failures == nil {
		return
	}
	s.failures.p.Store(&failure{At: time.Now().UTC(), Status: r.Status, Reason: r.Reason, Replica: r.Replica, HTTPStatus: r.HTTPStatus})
}

// lastFailure returns the shard's last failure, or nil.
func (s *Shard) lastFailure() *failure {
	if s.failures == nil {
		return nil
	}
	return s.failures.p.Load()
}

package caddyfederate

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/searchfront/caddy-federate/dialect"
)

// The collectors are package-level because every config load brings a new
// registry (ctx.GetMetricsRegistry): registering the same collectors again
// on each Provision keeps the counts across reloads, as caddy-ratelimit does.
var (
	shardRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "shard_requests_total",
		Help: "Shard sub-requests by route, shard and status (ok, timeout, error, unavailable, invalid).",
	}, []string{"route", "shard", "status"})
	shardDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "shard_duration_seconds",
		Help:    "Time from fan-out to a shard's answer (or its failure), hedges included.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "shard"})
	hedgesSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "hedges_sent_total",
		Help: "Hedged second requests sent to another replica, by route and shard.",
	}, []string{"route", "shard"})
	hedgesWon = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "hedges_won_total",
		Help: "Hedged requests whose answer was used, by route and shard.",
	}, []string{"route", "shard"})
	upstreamsAvailable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "upstreams_available",
		Help: "Replicas of a shard available at its last request (healthy and under max_requests), by route and shard.",
	}, []string{"route", "shard"})
	answers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "answers_total",
		Help: "Answers by route and outcome: complete, partial (200 with a failed shard), failed (5xx) or client_gone (the client left before the answer).",
	}, []string{"route", "outcome"})
	coalesced = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "coalesced_requests_total",
		Help: "Requests answered by sharing an identical in-flight request's fan-out.",
	}, []string{"route"})
)

var collectors = []prometheus.Collector{shardRequests, shardDuration, hedgesSent, hedgesWon, upstreamsAvailable, answers, coalesced}

// registerMetrics adds the collectors to this config load's registry.
func registerMetrics(ctx caddy.Context) error {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return nil
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// observeShard counts one shard outcome.
func observeShard(route, shard string, rep dialect.ShardReport) {
	if rep.Status == dialect.StatusSkipped {
		return
	}
	shardRequests.WithLabelValues(route, shard, string(rep.Status)).Inc()
	shardDuration.WithLabelValues(route, shard).Observe(rep.Took.Seconds())
}

// The outcomes of caddy_federate_answers_total, as indexes of
// answerOutcomes and answerSeries.
const (
	outcomeComplete = iota
	outcomePartial
	outcomeFailed
	outcomeClientGone
)

// answerOutcomes are the outcome labels, by outcome.
var answerOutcomes = [...]string{outcomeComplete: "complete", outcomePartial: "partial", outcomeFailed: "failed", outcomeClientGone: "client_gone"}

// answerSeries holds a route's caddy_federate_answers_total series, looked
// up once in provision (as shardSeries, for the same reason).
type answerSeries [len(answerOutcomes)]prometheus.Counter

func newAnswerSeries(route string) *answerSeries {
	var as answerSeries
	for i, o := range answerOutcomes {
		as[i] = answers.WithLabelValues(route, o)
	}
	return &as
}

// answerOutcome is the outcome of one route answer.
func answerOutcome(status int, complete, clientGone bool) int {
	switch {
	case clientGone:
		// Nobody reads this answer: counting it as failed would blame the
		// shards for clients that hung up (wrk at the end of a run, a
		// browser tab closed while typing).
		return outcomeClientGone
	case status >= 500:
		return outcomeFailed
	case !complete:
		return outcomePartial
	}
	return outcomeComplete
}

// observeAnswer counts one route answer.
func (h *Handler) observeAnswer(status int, complete, clientGone bool) {
	o := answerOutcome(status, complete, clientGone)
	if h.answered == nil { // not provisioned (tests that build a Handler by hand)
		answers.WithLabelValues(h.name(), answerOutcomes[o]).Inc()
		return
	}
	h.answered[o].Inc()
}

// observeUpstreams sets a shard's available replicas, when known.
func (s *Shard) observeUpstreams(route string, n int, known bool) {
	switch {
	case !known:
	case s.series.available != nil:
		s.series.available.Set(float64(n))
	default: // not provisioned (tests that build a Shard by hand)
		upstreamsAvailable.WithLabelValues(route, s.Name).Set(float64(n))
	}
}

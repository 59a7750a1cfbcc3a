package caddyfederate

import "github.com/prometheus/client_golang/prometheus"

// The response cache's collectors, registered with the others.
var (
	cacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_hits_total",
		Help: "Searches answered from the response cache.",
	}, []string{"route"})
	cacheMisses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_misses_total",
		Help: "Searches answered by a fan-out whose answer was cached (no-cache refreshes included).",
	}, []string{"route"})
	cacheBypass = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_bypass_total",
		Help: "Searches answered by a fan-out whose answer could not be cached (partial, error, too large, no-store, store down).",
	}, []string{"route"})
	cacheEvictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_evictions_total",
		Help: "Entries the memory store evicted to stay within max_size.",
	}, []string{"route"})
	cacheInvalidations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_invalidations_total",
		Help: "Index generations bumped by writes (each invalidates every cached answer over that index).",
	}, []string{"route"})
	cacheBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_bytes",
		Help: "Bytes held by the memory store, per-entry overhead included.",
	}, []string{"route"})
	cacheErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "cache_store_errors_total",
		Help: "Failed or timed-out operations on the cache store (lookup, fill, invalidate); the search went on uncached.",
	}, []string{"route", "op"})
)

func init() {
	collectors = append(collectors, cacheHits, cacheMisses, cacheBypass, cacheEvictions, cacheInvalidations, cacheBytes, cacheErrors)
}

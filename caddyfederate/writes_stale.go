package caddyfederate

// writes_stale.go keeps the replicas that missed a write out of the search
// rotation until an operator clears them through the admin API after a
// resync: a replica that missed a write would otherwise answer searches
// with old data, silently.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/searchfront/caddy-federate/health"
)

func init() {
	caddy.RegisterModule(adminStale{})
	collectors = append(collectors, replicaStale, writeParts)
}

var (
	replicaStale = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "replica_stale",
		Help: "1 while a replica that missed a write is out of the search rotation (until cleared through the admin API).",
	}, []string{"route", "shard", "replica"})
	writeParts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "federate", Name: "write_parts_total",
		Help: "Write parts sent to shard replicas, by route, shard and outcome (ok, failed).",
	}, []string{"route", "shard", "outcome"})
)

// staleKey names a replica: route, shard and dial address. Package-level,
// so a mark survives config reloads that keep the route and shard names.
type staleKey struct{ route, shard, addr string }

// StaleReplica is a replica kept out of searches, as the admin API lists it.
type StaleReplica struct {
	Route   string    `json:"route"`
	Shard   string    `json:"shard"`
	Replica int       `json:"replica"` // position among the shard's replicas, from 1 (as task errors name it)
	Address string    `json:"address"`
	Since   time.Time `json:"since"`
	Reason  string    `json:"reason"`
}

var stale = struct {
	sync.Mutex
	m map[staleKey]StaleReplica
	n atomic.Int32 // len(m), read without the lock on the search path
}{m: map[staleKey]StaleReplica{}}

// markStale takes a replica out of the search rotation.
func markStale(sr StaleReplica) {
	k := staleKey{sr.Route, sr.Shard, sr.Address}
	stale.Lock()
	if _, ok := stale.m[k]; !ok {
		stale.m[k] = sr
		stale.n.Store(int32(len(stale.m)))
	}
	stale.Unlock()
	replicaStale.WithLabelValues(sr.Route, sr.Shard, sr.Address).Set(1)
}

// clearStale puts matching replicas back; empty fields match anything.
func clearStale(route, shard, replica string) []StaleReplica {
	stale.Lock()
	defer stale.Unlock()
	var out []StaleReplica
	for k, sr := range stale.m {
		if (route == "" || route == k.route) && (shard == "" || shard == k.shard) &&
			(replica == "" || replica == k.addr || replica == strconv.Itoa(sr.Replica)) {
			delete(stale.m, k)
			stale.n.Store(int32(len(stale.m)))
			replicaStale.DeleteLabelValues(k.route, k.shard, k.addr)
			out = append(out, sr)
		}
	}
	return out
}

// staleAddrs lists a shard's stale replicas' addresses.
func staleAddrs(route, shard string) []string {
	stale.Lock()
	defer stale.Unlock()
	var out []string
	for k := range stale.m {
		if k.route == route && k.shard == shard {
			out = append(out, k.addr)
		}
	}
	return out
}

// isStale reports whether a replica is out of the search rotation.
func isStale(route, shard, addr string) bool {
	stale.Lock()
	_, ok := stale.m[staleKey{route, shard, addr}]
	stale.Unlock()
	return ok
}

// withoutStale excludes the shard's stale replicas from a search's
// selection (a shard whose every replica is stale answers no upstream).
func (h *Handler) withoutStale(ctx context.Context, s *Shard) context.Context {
	if stale.n.Load() == 0 {
		return ctx
	}
	return health.WithExcluded(ctx, staleAddrs(h.name(), s.Name)...)
}

// markMissed marks stale, per shard, the replicas whose part failed while
// another replica of the same shard took its part: they now differ.
func (h *Handler) markMissed(o *writeOutcome) {
	for i := range o.parts {
		wp := &o.parts[i]
		outcome := "ok"
		if !wp.ans.OK {
			outcome = "failed"
		}
		writeParts.WithLabelValues(h.name(), h.Shards[wp.shard].Name, outcome).Inc()
	}
	for i := range o.parts {
		wp := &o.parts[i]
		if wp.ans.OK || wp.addr == "" {
			continue
		}
		for j := range o.parts {
			if q := &o.parts[j]; q.shard == wp.shard && q.ans.OK {
				markStale(StaleReplica{Route: h.name(), Shard: h.Shards[wp.shard].Name, Replica: wp.replica + 1,
					Address: wp.addr, Since: time.Now(), Reason: "missed a write: " + wp.ans.Reason})
				break
			}
		}
	}
}

// adminStale serves /federate/stale on Caddy's admin endpoint: GET lists
// the stale replicas, DELETE (query route, shard, replica: an address or
// a position; all optional) puts them back into the search rotation.
type adminStale struct{}

// CaddyModule returns the Caddy module information.
func (adminStale) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.federate_stale",
		New: func() caddy.Module { return new(adminStale) },
	}
}

// Routes returns the admin routes.
func (a adminStale) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/federate/stale", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

func (adminStale) serve(w http.ResponseWriter, r *http.Request) error {
	var out []StaleReplica
	switch r.Method {
	case http.MethodGet:
		stale.Lock()
		for _, sr := range stale.m {
			out = append(out, sr)
		}
		stale.Unlock()
	case http.MethodDelete:
		q := r.URL.Query()
		if q.Get("route") == "" || q.Get("shard") == "" {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest,
				Err: fmt.Errorf("name the replica to put back: ?route=<route>&shard=<shard>[&replica=<address or position>]")}
		}
		out = clearStale(q.Get("route"), q.Get("shard"), q.Get("replica"))
	default:
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("use GET to list or DELETE to clear")}
	}
	if out == nil {
		out = []StaleReplica{}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Route != b.Route {
			return a.Route < b.Route
		}
		if a.Shard != b.Shard {
			return a.Shard < b.Shard
		}
		return a.Replica < b.Replica
	})
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

// Interface guard
var _ caddy.AdminRouter = (*adminStale)(nil)

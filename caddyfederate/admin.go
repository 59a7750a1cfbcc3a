package caddyfederate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/searchfront/caddy-federate/health"
)

func init() {
	caddy.RegisterModule(adminStatus{})
}

// routes holds the provisioned federate handlers for the admin API. Admin
// modules are built before the apps on every config load, so they cannot
// hold handlers themselves; handlers add themselves in Provision and leave
// in Cleanup. A reload briefly lists both configs' handlers.
var routes = struct {
	sync.Mutex // guards m
	m          map[*Handler]struct{}
}{m: map[*Handler]struct{}{}}

func registerRoute(h *Handler) {
	routes.Lock()
	routes.m[h] = struct{}{}
	routes.Unlock()
}

func unregisterRoute(h *Handler) {
	routes.Lock()
	delete(routes.m, h)
	routes.Unlock()
}

// adminStatus serves GET /federate/status on Caddy's admin endpoint: every
// federate route, its shards, their replicas' health as Caddy sees it and
// the latency federate observed.
type adminStatus struct{}

// CaddyModule returns the Caddy module information.
func (adminStatus) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.federate",
		New: func() caddy.Module { return new(adminStatus) },
	}
}

// Routes returns the admin routes.
func (a adminStatus) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/federate/status", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

type routeStatus struct {
	Name    string        `json:"name"`
	Dialect string        `json:"dialect"`
	Shards  []shardStatus `json:"shards"`
}

type shardStatus struct {
	Name      string           `json:"name"`
	Dialect   string           `json:"dialect"`
	Upstreams []upstreamStatus `json:"upstreams"`
	// Why the dynamic upstream source could not be read; the upstreams
	// are then those the proxy chose from last.
	DynamicError string                 `json:"dynamic_error,omitempty"`
	Latency      []health.UpstreamStats `json:"latency"`
	// The shard's last failure with its full reason (clients see a
	// generic one unless the route sets expose_shard_errors).
	LastFailure *failure `json:"last_failure,omitempty"`
}

type upstreamStatus struct {
	Address     string `json:"address"`
	Dynamic     bool   `json:"dynamic,omitempty"` // from the shard's dynamic upstream source
	Healthy     bool   `json:"healthy"`
	Available   bool   `json:"available"`
	NumRequests int    `json:"num_requests"`
	Fails       int    `json:"fails"`
	Stale       bool   `json:"stale"` // missed a write: out of the search rotation until cleared
}

func (adminStatus) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("use GET")}
	}
	// Status may look dynamic upstreams up: not under the lock that
	// Provision and Cleanup take.
	routes.Lock()
	hs := make([]*Handler, 0, len(routes.m))
	for h := range routes.m {
		hs = append(hs, h)
	}
	routes.Unlock()
	out := make([]routeStatus, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

func (h *Handler) status() routeStatus {
	rs := routeStatus{Name: h.name(), Dialect: h.Dialect}
	for _, s := range h.Shards {
		ss := shardStatus{Name: s.Name, Dialect: s.dialect.Name()}
		ss.Upstreams, ss.DynamicError = s.upstreamStatuses()
		for i := range ss.Upstreams {
			ss.Upstreams[i].Stale = isStale(h.name(), s.Name, ss.Upstreams[i].Address)
		}
		if s.tracker != nil {
			ss.Latency = s.tracker.Snapshot()
		}
		ss.LastFailure = s.lastFailure()
		rs.Shards = append(rs.Shards, ss)
	}
	return rs
}

// Interface guard
var _ caddy.AdminRouter = (*adminStatus)(nil)

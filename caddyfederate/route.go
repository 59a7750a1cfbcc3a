package caddyfederate

import (
	"net/http"

	"github.com/searchfront/caddy-federate/dialect"
)

// serveRoute answers r by what the client dialect's router says it asks:
// a search or count, a multi-search, an endpoint the route answers itself
// (cluster info, version, health), or the engine's own not-found or
// method-not-allowed error. Only searches reach the shards.
func (h *Handler) serveRoute(w http.ResponseWriter, r *http.Request) error {
	if hs, ok := h.client.(dialect.HeaderSetter); ok {
		hs.SetHeaders(r, w.Header())
	}
	ep := dialect.Route(h.client, r.Method, r.URL.Path)
	switch ep.Op {
	case dialect.OpSearch, dialect.OpCount:
		return h.serveSearch(w, r)
	case dialect.OpMultiSearch:
		if ms, ok := h.client.(dialect.MultiSearcher); ok {
			return h.serveMultiSearch(w, r, ms)
		}
	case dialect.OpInfo:
		status, body := dialect.Info(h.client, ep, r)
		return h.write(w, &answer{status: status, body: body})
	}
	return h.serveNotServed(w, r, ep)
}

// serveNotServed answers an endpoint this route does not serve in the
// client dialect's own error shape, without asking any shard. Handlers
// that try other endpoints first (writes) fall through to it with
// dialect.Endpoint{Op: dialect.OpNotFound}.
func (h *Handler) serveNotServed(w http.ResponseWriter, r *http.Request, ep dialect.Endpoint) error {
	if ep.Op != dialect.OpMethodNotAllowed {
		ep.Op = dialect.OpNotFound
	} else {
		for _, m := range ep.Allow {
			w.Header().Add("Allow", m)
		}
	}
	status, body := dialect.NotServed(h.client, ep, r.Method, r.URL.Path)
	return h.write(w, &answer{status: status, body: body, complete: "false"})
}

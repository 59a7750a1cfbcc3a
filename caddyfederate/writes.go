package caddyfederate

// writes.go serves the client dialect's write endpoints: documents placed
// on shards by id (or copied to every shard), every part sent to every
// replica of its shard, one answer in the client's dialect. The replica
// fan-out is in writes_send.go, Meilisearch tasks in tasks.go, stale
// replicas in writes_stale.go, placement in routing.go.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/searchfront/caddy-federate/dialect"
)

// Write modes.
const (
	writesOff       = "off"
	writesRoute     = "route"
	writesBroadcast = "broadcast"
)

// defaultWriteTimeout bounds how long a write may take to reach every
// replica and, for engines that index asynchronously (Meilisearch), to
// finish there; past it the write is reported failed.
const defaultWriteTimeout = 60 * time.Second

// WritesConfig makes a route serve its dialect's write endpoints.
type WritesConfig struct {
	// `off` (searches only), `route` (each document goes to the one shard
	// its id is placed on; see docs/writes.md for the hash) or `broadcast`
	// (every write goes to every shard, for mirrored shards). In both
	// `route` and `broadcast` a shard's part is sent to every replica of
	// the shard. Default: `off`.
	Mode string `json:"mode,omitempty"`

	// The document field holding the id, for dialects whose documents
	// carry it in their body (Meilisearch, Typesense, Solr). Default: the
	// engine's own (`id`); a Meilisearch client's `primaryKey` parameter
	// wins.
	IDField string `json:"id_field,omitempty"`

	// How long a write may take to reach every replica and, on engines
	// that index in the background (Meilisearch tasks), to finish on
	// every replica. A write not done by then is reported failed and the
	// replicas that missed it are marked stale. Default: 60s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// writeState is a provisioned route's write set-up.
type writeState struct {
	mode    string
	idField string
	timeout time.Duration
	wd      dialect.WriteDialect // nil: legacy broadcast of a dialect without write support
	shards  []int                // shards that take the client's writes (same wire)
	names   []string             // their names, for placement
	stop    chan struct{}        // closed by Cleanup: ends task watchers
}

// WriteHook is told of every write a route sends: the indexes it touches
// (as the client named them; nil when the write may touch any index of
// the route) and a channel closed once the write is applied on every replica it
// went to, or has failed (at once for engines that answer synchronously;
// when the task ends for Meilisearch). Hooks run on the request path and
// must not block.
type WriteHook func(ctx context.Context, indexes []string, pending <-chan struct{})

// onWrite calls the route's write hooks.
func (h *Handler) onWrite(ctx context.Context, indexes []string, pending <-chan struct{}) {
	for _, f := range h.writeHooks {
		f(ctx, indexes, pending)
	}
}

// provisionWrites resolves the writes option (and the older `broadcast`
// flag, the same as `writes broadcast`).
func (h *Handler) provisionWrites() error {
	wc := h.Writes
	if wc == nil && h.Broadcast {
		wc = &WritesConfig{Mode: writesBroadcast}
	}
	if wc == nil || wc.Mode == "" || wc.Mode == writesOff {
		return nil
	}
	if wc.Mode != writesRoute && wc.Mode != writesBroadcast {
		return fmt.Errorf("federate: unknown writes mode %q; use off, route or broadcast", wc.Mode)
	}
	ws := &writeState{mode: wc.Mode, idField: wc.IDField, timeout: time.Duration(wc.Timeout), stop: make(chan struct{})}
	if ws.timeout <= 0 {
		ws.timeout = defaultWriteTimeout
	}
	ws.wd, _ = dialect.WriteDialectOf(h.client)
	if ws.wd == nil && (h.Writes != nil || !h.Broadcast) {
		return fmt.Errorf("federate: writes are not supported for dialect %s; use meilisearch, elasticsearch, opensearch, typesense or solr", h.Dialect)
	}
	for i, s := range h.Shards {
		if sameWire(s.dialect.Name(), h.client.Name()) {
			ws.shards = append(ws.shards, i)
			ws.names = append(ws.names, s.Name)
		}
	}
	if len(ws.shards) == 0 {
		return fmt.Errorf("federate: writes need at least one shard of the route's dialect (%s)", h.Dialect)
	}
	h.writes = ws
	return nil
}

// cleanupWrites ends the route's task watchers.
func (h *Handler) cleanupWrites() {
	if h.writes != nil {
		close(h.writes.stop)
	}
}

// serveWrite answers r when it is a write endpoint of a route that serves
// writes; handled is false for everything else, which is then served as
// a search with r's body intact.
func (h *Handler) serveWrite(w http.ResponseWriter, r *http.Request) (handled bool, err error) {
	ws := h.writes
	if ws == nil || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return false, nil
	}
	if ws.wd == nil {
		// A dialect without write endpoints (the older broadcast of
		// federate, solr, typesense routes): only these methods are
		// forwarded, everything else is a search.
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			return true, h.serveBroadcast(w, r)
		}
		return false, nil
	}
	var body []byte
	if r.Method != http.MethodGet {
		lift := h.bodyDeadline(w)
		body, err = h.readBody(r)
		lift()
		if err != nil {
			return true, h.write(w, h.errorAnswer(err))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	wr, err := ws.wd.DecodeWrite(r, body, ws.idField)
	if err != nil {
		return true, h.write(w, h.errorAnswer(err))
	}
	if wr == nil {
		return false, nil
	}
	p, err := newParentState(r)
	if err != nil {
		return true, caddyhttp.Error(http.StatusInternalServerError, err)
	}
	switch wr.Kind {
	case dialect.WriteTaskGet:
		return true, h.write(w, h.taskAnswer(r.Context(), p, wr.TaskUID))
	case dialect.WriteTaskList:
		return true, h.write(w, h.taskListAnswer(r.Context(), p, wr.Params))
	}
	out := h.sendWrite(r.Context(), p, wr)
	if r.Context().Err() != nil {
		return true, caddyhttp.Error(499, r.Context().Err())
	}
	return true, h.write(w, h.writeAnswer(p, wr, out))
}

// writeAnswer encodes the outcome in the client's dialect and tells the
// write hooks.
func (h *Handler) writeAnswer(p *parentState, wr *dialect.Write, out *writeOutcome) *answer {
	var ans *answer
	pending := make(chan struct{})
	switch h.client.Name() {
	case "meilisearch":
		ans = h.meiliWriteAnswer(p, wr, out, pending)
	default:
		ans = h.syncWriteAnswer(wr, out)
		close(pending)
	}
	var indexes []string // nil: any index of the route (a _bulk naming its indexes per item)
	if wr.Index != "" {
		indexes = []string{wr.Index}
	}
	h.onWrite(p.req.Context(), indexes, pending)
	return ans
}

// parseWrites reads `writes off|route [<id field>]|broadcast` and
// `write_timeout <duration>`; the dispenser is on the option's name.
func parseWrites(d *caddyfile.Dispenser, f *Handler) error {
	if f.Writes == nil {
		f.Writes = new(WritesConfig)
	}
	if d.Val() == "write_timeout" {
		var v string
		if err := oneArg(d, &v); err != nil {
			return err
		}
		dur, err := caddy.ParseDuration(v)
		if err != nil || dur <= 0 {
			return d.Errf("write_timeout must be a positive duration, got %q", v)
		}
		f.Writes.Timeout = caddy.Duration(dur)
		return nil
	}
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	switch args[0] {
	case writesOff, writesBroadcast:
		if len(args) > 1 {
			return d.Errf("writes %s takes no other argument", args[0])
		}
	case writesRoute:
		if len(args) > 2 {
			return d.Errf("writes route takes at most an id field, got %v", args[1:])
		}
		if len(args) == 2 {
			f.Writes.IDField = args[1]
		}
	default:
		return d.Errf("writes must be off, route [<id field>] or broadcast, got %q", args[0])
	}
	f.Writes.Mode = args[0]
	return nil
}

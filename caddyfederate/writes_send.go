package caddyfederate

// writes_send.go sends a write's parts: one request per shard that owns
// any of its items (or every shard), to every replica of that shard, each
// through the shard's own reverse_proxy pinned to that replica, so header
// rules, TLS and transport settings apply as for searches.

import (
	"context"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/health"
)

// writeOutcome is what every replica answered to a write.
type writeOutcome struct {
	// parts are the sent parts, grouped by shard in config order, the
	// replicas of a shard in their configured order.
	parts []writePart
	// carriers[i] are the indexes into parts of the parts that carried
	// item i, in order (none when the item was rejected before sending).
	carriers [][]int
}

// writePart is one shard replica's part of a write.
type writePart struct {
	shard    int    // index into h.Shards
	replica  int    // position among the shard's replicas, from 0
	replicas int    // how many replicas the shard had
	addr     string // the replica's dial address ("" when the shard is not a reverse_proxy)
	items    []int  // item positions the part carried, in client order
	ans      dialect.PartAnswer
}

// sendWrite sends wr's parts to every replica that should take them and
// waits for all answers, within the route's write timeout.
func (h *Handler) sendWrite(ctx context.Context, p *parentState, wr *dialect.Write) *writeOutcome {
	ws := h.writes
	ctx, cancel := context.WithTimeout(ctx, ws.timeout)
	defer cancel()
	groups := h.writeGroups(wr)
	out := &writeOutcome{carriers: make([][]int, len(wr.Items))}
	for gi, si := range ws.shards {
		if groups[gi] == nil {
			continue
		}
		s := h.Shards[si]
		addrs, err := shardReplicas(p.req, s)
		if err != nil || len(addrs) == 0 {
			why := "no replica to send to"
			if err != nil {
				why = "listing its replicas failed: " + oneLine(err.Error())
			}
			out.addPart(writePart{shard: si, replicas: 1, items: groups[gi],
				ans: dialect.PartAnswer{TaskUID: -1, Reason: why}})
			continue
		}
		for ri, addr := range addrs {
			out.addPart(writePart{shard: si, replica: ri, replicas: len(addrs), addr: addr, items: groups[gi]})
		}
	}
	var wg sync.WaitGroup
	for i := range out.parts {
		part := &out.parts[i]
		if part.ans.Reason != "" {
			continue
		}
		s := h.Shards[part.shard]
		req := h.writes.wd.BuildWrite(wr, part.items, s.Index)
		others := otherReplicas(out.parts, part)
		wg.Add(1)
		h.callStart()
		go func() {
			defer wg.Done()
			defer h.callDone()
			status, body, why := h.sendPart(ctx, p, s, others, req)
			if status == 0 {
				part.ans = dialect.PartAnswer{TaskUID: -1, Reason: why}
				return
			}
			part.ans = h.writes.wd.DecodePart(wr, len(part.items), status, body)
		}()
	}
	wg.Wait()
	h.markMissed(out)
	return out
}

func (o *writeOutcome) addPart(wp writePart) {
	for _, it := range wp.items {
		o.carriers[it] = append(o.carriers[it], len(o.parts))
	}
	o.parts = append(o.parts, wp)
}

// writeGroups is, per writing shard (h.writes.shards order), the item
// positions it takes; nil for a shard that takes no part, an empty
// non-nil slice for a whole-request part.
func (h *Handler) writeGroups(wr *dialect.Write) [][]int {
	ws := h.writes
	groups := make([][]int, len(ws.shards))
	if wr.Kind != dialect.WriteRouted {
		for i := range groups {
			groups[i] = []int{}
		}
		return groups
	}
	ids := make([]string, len(wr.Items))
	skip := make([]bool, len(wr.Items))
	for i, it := range wr.Items {
		ids[i], skip[i] = it.ID, it.Err != nil
	}
	if ws.mode == writesBroadcast {
		var all []int
		for i := range wr.Items {
			if !skip[i] {
				all = append(all, i)
			}
		}
		if all != nil {
			for i := range groups {
				groups[i] = all
			}
		}
		return groups
	}
	return splitByOwner(ws.names, ids, skip)
}

// otherReplicas lists the addresses of the part's shard's other replicas:
// excluding them pins the shard's selection policy to the part's replica.
func otherReplicas(parts []writePart, part *writePart) []string {
	var out []string
	for i := range parts {
		if q := &parts[i]; q.shard == part.shard && q.replica != part.replica && q.addr != "" && q.addr != part.addr {
			out = append(out, q.addr)
		}
	}
	return out
}

// shardReplicas lists the dial addresses of a shard's replicas, static or
// dynamic, in their configured (or source's) order; one "" for a shard
// served by a handler other than reverse_proxy.
func shardReplicas(r *http.Request, s *Shard) ([]string, error) {
	if s.rp == nil {
		return []string{""}, nil
	}
	ups := s.rp.Upstreams
	if s.rp.DynamicUpstreams != nil {
		var err error
		if ups, err = s.rp.DynamicUpstreams.GetUpstreams(r); err != nil {
			return nil, err
		}
	}
	addrs := make([]string, 0, len(ups))
	for _, u := range ups {
		addrs = append(addrs, u.String())
	}
	return addrs, nil
}

// sendPart runs one part through the shard's reverse_proxy with every
// other replica excluded; status is 0 when no upstream answer came, and
// why says what happened.
func (h *Handler) sendPart(ctx context.Context, p *parentState, s *Shard, others []string, sreq *dialect.Request) (status int, body []byte, why string) {
	ctx = health.WithExcluded(ctx, others...)
	sw := newShardWriter(h.MaxResponseSize)
	req, _ := p.subRequest(ctx, sw, sreq)
	err := serveRecovered(s.proxy, sw, req)
	st, reason := classify(ctx, err, sw, h.writes.timeout, h.MaxResponseSize)
	if st == dialect.StatusOK || (sw.written && err == nil && !sw.tooBig) {
		return sw.status, sw.body, ""
	}
	if c := h.logger.Check(zap.WarnLevel, "write part failed"); c != nil {
		c.Write(zap.String("route", h.name()), zap.String("shard", s.Name), zap.Strings("excluded", others),
			zap.String("status", string(st)), zap.String("reason", reason))
	}
	// Clients learn the kind of failure, not addresses or dial errors.
	switch st {
	case dialect.StatusTimeout:
		return 0, nil, "no answer within the write timeout (" + h.writes.timeout.String() + ")"
	case dialect.StatusUnavailable:
		return 0, nil, "the replica is unavailable (unhealthy or at its request limit)"
	case dialect.StatusInvalid:
		return 0, nil, "the replica's answer was larger than max_response_size"
	}
	return 0, nil, "the connection to the replica failed"
}

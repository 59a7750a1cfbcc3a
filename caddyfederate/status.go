package caddyfederate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/searchfront/caddy-federate/dialect"
)

// classify turns what reverse_proxy returned and wrote into a shard status
// and a one-line reason. reverse_proxy returns its own failures as a
// caddyhttp.HandlerError (502 on a proxy error, 503 with no upstream, 504
// on a deadline, 499 on a cancel) and writes upstream answers, errors
// included, to the writer.
func classify(ctx context.Context, err error, sw *shardWriter, timeout time.Duration, maxSize int64) (dialect.Status, string) {
	if sw.overBudget {
		return dialect.StatusInvalid, "answer not buffered: the route's max_inflight_bytes is spent"
	}
	if sw.tooBig {
		return dialect.StatusInvalid, fmt.Sprintf("answer larger than max_response_size (%d bytes)", maxSize)
	}
	if err != nil {
		code := http.StatusBadGateway
		var he caddyhttp.HandlerError
		if errors.As(err, &he) {
			code = he.StatusCode
			if he.Err != nil {
				// HandlerError's own text carries an error id and a
				// source line: the cause is what the operator needs.
				err = he.Err
			}
		}
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded) || code == http.StatusGatewayTimeout:
			return dialect.StatusTimeout, "no answer within " + timeout.String()
		case errors.Is(ctx.Err(), context.Canceled):
			return dialect.StatusError, reasonClientGone
		case code == http.StatusServiceUnavailable && strings.Contains(err.Error(), "no upstreams available"):
			return dialect.StatusUnavailable, "no available upstream: every replica is unhealthy or at its request limit"
		}
		return dialect.StatusError, oneLine(err.Error())
	}
	if !sw.written {
		return dialect.StatusError, "the proxy wrote no answer"
	}
	if sw.status < 200 || sw.status > 299 {
		// reverse_proxy writes 499 (and returns no error) when the request's
		// context ends: that is the client leaving or the deadline, not
		// the upstream's answer.
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return dialect.StatusTimeout, "no answer within " + timeout.String()
		case errors.Is(ctx.Err(), context.Canceled):
			return dialect.StatusError, reasonClientGone
		}
		return dialect.StatusError, fmt.Sprintf("upstream answered %d: %s", sw.status, snippet(sw.body))
	}
	return dialect.StatusOK, ""
}

// responseStatus applies the partial-result contract: quorum met → 200;
// every shard timed out → 504; every shard failed otherwise → 502; quorum
// missed or a required shard failed → 503.
func (h *Handler) responseStatus(results []shardResult) (int, string) {
	var ok, timeouts, asked int
	for _, r := range results {
		switch r.report.Status {
		case dialect.StatusSkipped:
			continue
		case dialect.StatusOK:
			ok++
		case dialect.StatusTimeout:
			timeouts++
		}
		asked++
	}
	switch {
	case asked == 0:
		return http.StatusBadRequest, "the request named no configured shard"
	case ok == 0 && timeouts == asked:
		return http.StatusGatewayTimeout, "every shard timed out: " + h.failureSummary(results)
	case ok == 0:
		return http.StatusBadGateway, "every shard failed: " + h.failureSummary(results)
	}
	for _, i := range h.required {
		if rep := h.clientReport(results[i].report); rep.Status != dialect.StatusOK {
			return http.StatusServiceUnavailable, fmt.Sprintf("required shard %q is %s: %s", rep.Name, rep.Status, rep.ReasonOrDefault())
		}
	}
	need := min(h.MinShards, asked)
	if ok < need {
		return http.StatusServiceUnavailable, fmt.Sprintf("only %d of %d shards answered, min_shards is %d: %s", ok, asked, h.MinShards, h.failureSummary(results))
	}
	return http.StatusOK, ""
}

// failureSummary lists the failed shards, one clause each, as a client
// may see them (clientReport).
func (h *Handler) failureSummary(results []shardResult) string {
	var b strings.Builder
	for _, r := range results {
		if r.report.Status == dialect.StatusOK || r.report.Status == dialect.StatusSkipped {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		rep := h.clientReport(r.report)
		fmt.Fprintf(&b, "%s %s (%s)", rep.Name, rep.Status, rep.ReasonOrDefault())
	}
	return b.String()
}

// errorCode names the failure for machine readers, in every dialect.
func errorCode(status int) string {
	switch status {
	case http.StatusGatewayTimeout:
		return "shards_timeout"
	case http.StatusBadGateway:
		return "shards_failed"
	case http.StatusServiceUnavailable:
		return "shards_quorum_not_met"
	}
	return "bad_request"
}

// snippet is the start of a body as one line, for a reason.
func snippet(b []byte) string {
	const max = 120
	if len(b) > max {
		return oneLine(string(b[:max])) + "…"
	}
	return oneLine(string(b))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

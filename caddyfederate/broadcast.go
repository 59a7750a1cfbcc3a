package caddyfederate

import (
	"encoding/json"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/searchfront/caddy-federate/dialect"
)

// serveBroadcast sends the client's request unchanged (method, path, query
// string, body) to every shard of the client's dialect, for requests that
// are not searches: settings updates, document writes, deletes. Shards of
// another dialect cannot take the same request and are skipped. The answer
// is 200 when every shard asked answered 2xx; 504 when every one timed out;
// 502 otherwise.
func (h *Handler) serveBroadcast(w http.ResponseWriter, r *http.Request) error {
	body, err := h.readBody(r)
	if err != nil {
		return h.write(w, h.errorAnswer(err))
	}
	p, err := newParentState(r)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	p.raw = true
	reqs := make([]*dialect.Request, len(h.Shards))
	for i, s := range h.Shards {
		if sameWire(s.dialect.Name(), h.client.Name()) {
			reqs[i] = &dialect.Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Body: body, ContentType: r.Header.Get("Content-Type")}
		}
	}
	results := h.fanOut(r.Context(), p, reqs)
	if r.Context().Err() != nil {
		return caddyhttp.Error(499, r.Context().Err())
	}
	// The answer: {"complete": bool, "shards": {name: {status members,
	// "answer": the shard's own answer}}}, the status members written by
	// the same writer as a search answer's.
	b := make([]byte, 0, 256)
	b = append(b, `{"shards":{`...)
	complete := true
	var asked, ok, timeouts int
	for i, res := range results {
		rep := h.clientReport(res.report)
		if rep.Status == dialect.StatusSkipped {
			rep.Reason = "a shard of another dialect cannot take this request"
		} else {
			asked++
		}
		switch rep.Status {
		case dialect.StatusOK:
			ok++
		case dialect.StatusTimeout:
			timeouts++
		}
		if rep.Status != dialect.StatusOK && rep.Status != dialect.StatusSkipped {
			complete = false
		}
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(rep.Name)
		b = append(append(b, name...), ":{"...)
		b = dialect.AppendShardStatus(b, rep)
		if json.Valid(res.raw) {
			b = append(append(b, `,"answer":`...), res.raw...)
		}
		b = append(b, '}')
	}
	b = append(b, `},"complete":`...)
	b = append(append(b, boolString(complete)...), '}')
	status := http.StatusOK
	switch {
	case asked == 0:
		return h.write(w, h.errorAnswer(badRequest("no shard of this route speaks "+h.client.Name()+": a broadcast goes only to shards of the client's dialect")))
	case timeouts == asked:
		status = http.StatusGatewayTimeout
	case ok < asked:
		status = http.StatusBadGateway
	}
	return h.write(w, &answer{status: status, body: b, complete: boolString(complete)})
}

// sameWire reports whether two dialects take the same requests.
func sameWire(a, b string) bool {
	norm := func(s string) string {
		if s == "opensearch" {
			return "elasticsearch"
		}
		return s
	}
	return norm(a) == norm(b)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

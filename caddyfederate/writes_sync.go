package caddyfederate

// writes_sync.go answers writes of engines that apply them before they
// answer (Elasticsearch, OpenSearch): the answer is complete when it is
// sent.

import (
	"net/http"
	"strconv"

	"github.com/searchfront/caddy-federate/dialect"
)

// syncWriteAnswer answers a write whose every part has answered: the
// first replica's answer when every replica took its part, else an error
// in the client's dialect naming the first shard and replica (by
// position) that did not.
func (h *Handler) syncWriteAnswer(wr *dialect.Write, out *writeOutcome) *answer {
	if ans := refusedByAll(out); ans != nil {
		return ans
	}
	for i := range out.parts {
		wp := &out.parts[i]
		if !wp.ans.OK {
			return h.errorAnswer(partError(h.Shards[wp.shard].Name, wp))
		}
	}
	if len(out.parts) == 0 {
		return h.errorAnswer(badRequest("the write carried nothing to send"))
	}
	a := out.parts[0].ans
	return &answer{status: a.Status, body: a.Body, complete: "true"}
}

// partError is the client-visible failure of one part: shard and replica
// position, never the replica's address.
func partError(shard string, wp *writePart) *dialect.Error {
	return &dialect.Error{Status: http.StatusBadGateway, Code: "shard_error", Type: "system",
		Message: "the write did not reach every replica: shard " + strconv.Quote(shard) + " replica " +
			strconv.Itoa(wp.replica+1) + " of " + strconv.Itoa(wp.replicas) + ": " + wp.ans.Reason +
			"; writes by id are idempotent: retry the request"}
}

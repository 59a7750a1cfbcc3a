package caddyfederate

// writes_sync.go answers writes of engines that apply them before they
// answer (Elasticsearch, OpenSearch): the answer is complete when it is
// sent.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

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
	switch wr.Type {
	case "bulk":
		return h.bulkAnswer(wr, out)
	case "delete_by_query":
		return h.summedAnswer(out, "deleted", "total", "batches", "version_conflicts", "noops")
	case "import":
		return h.importAnswer(wr, out)
	case "delete_by_filter":
		return h.summedAnswer(out, "num_deleted")
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

// bulkAnswer reassembles a _bulk answer in the client's order: each item
// is its shard's own item when every replica that should have taken it
// did (the first replica's, or the first with an error status), else an
// error naming the shard and replica; errors is true when any item failed.
func (h *Handler) bulkAnswer(wr *dialect.Write, out *writeOutcome) *answer {
	start := time.Now()
	items := make([][]byte, len(wr.Items))
	failed := false
	for i := range wr.Items {
		it := &wr.Items[i]
		if it.Err != nil {
			items[i] = dialect.ESBulkItem(it.Action, wr.Index, it.ID, it.Err.Status, it.Err.Code, it.Err.Message)
			failed = true
			continue
		}
		items[i] = h.bulkItem(wr, out, i)
		if st := dialect.ItemStatus(items[i]); st < 200 || st > 299 {
			failed = true
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"took":`)
	b.WriteString(strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	b.WriteString(`,"errors":`)
	b.WriteString(strconv.FormatBool(failed))
	b.WriteString(`,"items":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteString("]}")
	return &answer{status: http.StatusOK, body: b.Bytes(), complete: strconv.FormatBool(!failed)}
}

// bulkItem is item i's answer from the parts that carried it.
func (h *Handler) bulkItem(wr *dialect.Write, out *writeOutcome, i int) []byte {
	it := &wr.Items[i]
	ok := func(item []byte) bool { st := dialect.ItemStatus(item); return st >= 200 && st <= 299 }
	return h.itemAnswer(out, i, ok, func(msg string) []byte {
		return dialect.ESBulkItem(it.Action, wr.Index, it.ID, http.StatusServiceUnavailable, "federate_replica_exception", msg)
	})
}

// itemAnswer is item i's answer from the parts that carried it: the
// first part's own item, or the first failed one among them, or failed(msg)
// when a part that carried it did not reach its replica.
func (h *Handler) itemAnswer(out *writeOutcome, i int, ok func([]byte) bool, failed func(msg string) []byte) []byte {
	var chosen []byte
	for _, pi := range out.carriers[i] {
		wp := &out.parts[pi]
		if !wp.ans.OK {
			return failed(partError(h.Shards[wp.shard].Name, wp).Message)
		}
		pos, _ := slices.BinarySearch(wp.items, i)
		item := []byte(wp.ans.Items[pos])
		if chosen == nil || (!ok(item) && ok(chosen)) {
			chosen = item
		}
	}
	if chosen == nil {
		return failed("no shard took the item")
	}
	return chosen
}

// importAnswer reassembles a Typesense import: one result line per
// document, in the client's order.
func (h *Handler) importAnswer(wr *dialect.Write, out *writeOutcome) *answer {
	var b bytes.Buffer
	complete := true
	for i := range wr.Items {
		it := &wr.Items[i]
		var line []byte
		if it.Err != nil {
			line = dialect.TSImportLine(it.Doc, it.Err.Message)
		} else {
			line = h.itemAnswer(out, i, dialect.TSImportOK, func(msg string) []byte { return dialect.TSImportLine(it.Doc, msg) })
		}
		complete = complete && dialect.TSImportOK(line)
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(line)
	}
	return &answer{status: http.StatusOK, body: b.Bytes(), complete: strconv.FormatBool(complete)}
}

// summedAnswer is the first part's answer with the named top-level
// numbers summed over shards (each shard's first replica).
func (h *Handler) summedAnswer(out *writeOutcome, keys ...string) *answer {
	for i := range out.parts {
		if wp := &out.parts[i]; !wp.ans.OK {
			return h.errorAnswer(partError(h.Shards[wp.shard].Name, wp))
		}
	}
	if len(out.parts) == 0 {
		return h.errorAnswer(badRequest("the write carried nothing to send"))
	}
	var sum map[string]any
	for i := range out.parts {
		wp := &out.parts[i]
		if wp.replica != 0 {
			continue
		}
		var m map[string]any
		if json.Unmarshal(wp.ans.Body, &m) != nil {
			continue
		}
		if sum == nil {
			sum = m
			continue
		}
		for _, k := range keys {
			a, _ := sum[k].(float64)
			if b, ok := m[k].(float64); ok {
				sum[k] = a + b
			}
		}
	}
	b, _ := json.Marshal(sum)
	return &answer{status: http.StatusOK, body: b, complete: "true"}
}

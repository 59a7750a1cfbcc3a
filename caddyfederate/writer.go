package caddyfederate

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/searchfront/caddy-federate/dialect"
)

// errTooLarge is what shardWriter.Write returns past its cap; it stops
// reverse_proxy from copying the rest of an oversized answer.
var errTooLarge = errors.New("shard answer exceeds max_response_size")

// shardWriter is the private http.ResponseWriter one shard sub-request
// writes into: its own header map, status and a size-capped body. It is
// never shared with the client's writer (caddyhttp.ResponseRecorder would
// share the header map and pass 1xx responses through).
type shardWriter struct {
	header  http.Header
	status  int
	body    []byte
	max     int64
	tooBig  bool
	written bool
	charge  *charge // the route's answer budget; nil counts nothing
	// the route's budget was spent before the answer was in
	overBudget bool
}

func newShardWriter(max int64) *shardWriter {
	return &shardWriter{header: make(http.Header), max: max}
}

func (w *shardWriter) Header() http.Header { return w.header }

func (w *shardWriter) WriteHeader(status int) {
	if status < 200 {
		// 1xx (e.g. 103 Early Hints) stays private to the shard.
		return
	}
	if !w.written {
		w.status = status
		w.written = true
	}
}

func (w *shardWriter) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	if int64(len(w.body))+int64(len(p)) > w.max {
		w.tooBig = true
		return 0, errTooLarge
	}
	if !w.charge.take(len(p)) {
		w.overBudget = true
		return 0, errOverBudget
	}
	if w.body == nil {
		// The answer's size when the engine sent it (reverse_proxy copies
		// the upstream's headers before the body), else a few KiB, where
		// most answers fall; never more than the cap allows, nor more than
		// 1 MiB on the word of a header (appending grows past it).
		size := int64(8 << 10)
		if n, err := strconv.ParseInt(w.header.Get("Content-Length"), 10, 64); err == nil && n > 0 {
			size = min(n, 1<<20)
		}
		// Twice the size while the buffer is one the pool keeps: the
		// second half holds the documents the dialect rewrites while
		// decoding (Dialect.DecodeResponse). A large answer gets its
		// size only, so no dialect doubles its memory.
		size = min(size, w.max)
		if 2*size <= maxPooledAnswer {
			size *= 2
		}
		w.body = answerBuf(int(size))
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// Flush is a no-op: the answer is buffered whole before it is merged.
func (w *shardWriter) Flush() {}

// answerBufs recycles shard answer buffers: a search answer is read whole,
// decoded (the hits point into it), merged and encoded into a new buffer,
// after which nothing refers to it. Buffers above maxPooledAnswer are left
// to the garbage collector, so one huge answer is not kept alive.
var answerBufs sync.Pool // of *[]byte

const maxPooledAnswer = 128 << 10

// answerBuf returns an empty buffer of at least size bytes' capacity.
func answerBuf(size int) []byte {
	if p, ok := answerBufs.Get().(*[]byte); ok {
		if cap(*p) >= size {
			return (*p)[:0]
		}
		answerBufs.Put(p)
	}
	return make([]byte, 0, size)
}

// releaseAnswer gives b back for reuse. The caller guarantees that nothing
// refers to b any more.
func releaseAnswer(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledAnswer {
		return
	}
	b = b[:0]
	answerBufs.Put(&b)
}

// encodeResponse encodes the merged answer in the client's dialect, into a
// recycled buffer when the dialect can (dialect.ResponseAppender); pooled
// says so. Whoever holds the answer last gives the buffer back
// (releaseAnswer): the request itself, or the last of the requests that
// shared a coalesced fan-out (flights).
func (h *Handler) encodeResponse(q *dialect.Query, resp *dialect.Response) (body []byte, pooled bool, err error) {
	if a, ok := h.client.(dialect.ResponseAppender); ok {
		body, err = a.AppendResponse(answerBuf(8<<10), q, resp)
		return body, err == nil, err
	}
	body, err = h.client.EncodeResponse(q, resp)
	return body, false, err
}

package dialect

// batch_write.go holds what every dialect's write endpoints decode into:
// a Write (per-document items, or one request for every shard), and the
// per-part answers the handler collects from each shard replica. Each
// engine's own formats are in X_write.go.

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// WriteKind says how a write is spread over the shards.
type WriteKind int

// Kinds of writes.
const (
	// WriteRouted writes carry per-document Items: each item goes to the
	// shard that owns its id (or to every shard when writes broadcast).
	WriteRouted WriteKind = iota + 1
	// WriteAll is one request sent to every shard as it is (settings,
	// index creation and deletion, delete by filter, commits).
	WriteAll
	// WriteTaskGet and WriteTaskList read the route's task store
	// (Meilisearch GET /tasks/{uid} and GET /tasks).
	WriteTaskGet
	WriteTaskList
)

// Write is a client's write request, decoded.
type Write struct {
	Kind WriteKind
	// Index is the index or collection the client named ("" when none).
	Index string
	// Type is the engine's name of the operation, e.g. Meilisearch task
	// types (documentAdditionOrUpdate, settingsUpdate, ...) or an
	// Elasticsearch action (index, delete, ...).
	Type string
	// Items are the per-document operations of a routed write, in the
	// client's order.
	Items []WriteItem
	// Method, Path, RawQuery, Body and ContentType are the client's request;
	// for WriteAll they are what every shard receives (with the index
	// replaced by the shard's, see PathFor).
	Method, Path, RawQuery string
	Body                   []byte
	ContentType            string
	// TaskUID is the task asked for by WriteTaskGet; Params the URL query
	// of WriteTaskList.
	TaskUID int64
	Params  map[string][]string
	// indexAt is where Index starts in Path (0: the path names none).
	indexAt int
	// batch is how the dialect rebuilds a batch of items (Meilisearch
	// delete-batch sends ids, documents send documents, ...).
	batch string
}

// WriteItem is one document operation of a routed write.
type WriteItem struct {
	// ID is the document's id as the engine compares it (a number's
	// literal, a string's value); placement hashes it.
	ID string
	// Action is the per-item operation (Elasticsearch index, create,
	// update, delete; Typesense's import action).
	Action string
	// Meta is the item's action line (Elasticsearch _bulk); Doc its
	// document, or nil for a delete.
	Meta, Doc []byte
	// Err rejects the item before it is sent (no id, bad JSON); the
	// answer reports it in place.
	Err *Error
}

// PathFor is the request path with the client's index replaced by index
// (a shard's own index); the client's path when index is "" or the path
// names no index.
func (w *Write) PathFor(index string) string {
	if index == "" || w.indexAt <= 0 || w.Index == "" {
		return w.Path
	}
	return w.Path[:w.indexAt] + index + w.Path[w.indexAt+len(w.Index):]
}

// PartAnswer is one shard replica's answer to its part of a write.
type PartAnswer struct {
	// OK is true when the replica accepted the part (2xx and, for
	// per-item answers, a readable answer).
	OK bool
	// Status is the upstream HTTP status (0 when none came).
	Status int
	// Reason says why the part failed, in one line.
	Reason string
	// TaskUID is the engine's task for the part (Meilisearch), or -1.
	TaskUID int64
	// Items are the per-item results, in the part's item order, when the
	// engine answers per item (Elasticsearch _bulk, Typesense import).
	Items []json.RawMessage
	// Body is the replica's answer as it sent it.
	Body []byte
}

// WriteDialect is implemented by dialects whose write endpoints a route
// with `writes` serves.
type WriteDialect interface {
	// DecodeWrite reads a write request; nil, nil when r is not a write
	// endpoint of this dialect (it is then served as a search). idField
	// is the document field holding the id ("" for the engine's own).
	DecodeWrite(r *http.Request, body []byte, idField string) (*Write, error)
	// BuildWrite builds one shard's request: for a routed write, the
	// batch of w.Items at the positions items (in client order); for
	// WriteAll, the client's request. index is the shard's index ("" for
	// the client's).
	BuildWrite(w *Write, items []int, index string) *Request
	// DecodePart reads one replica's answer to its part; n is how many
	// items the part carried.
	DecodePart(w *Write, n int, status int, body []byte) PartAnswer
}

// WriteDialectOf returns d's write support, if it has any.
func WriteDialectOf(d Dialect) (WriteDialect, bool) {
	wd, ok := d.(WriteDialect)
	return wd, ok
}

// canonicalID is the id of a JSON scalar as engines compare ids: a
// string's value or a number's literal; ok is false for any other value.
func canonicalID(raw []byte) (string, bool) {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
			return "", false
		}
		return string(raw), true
	}
	return "", false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// jsonArray joins raw values into a JSON array.
func jsonArray(vals [][]byte) []byte {
	n := 2
	for _, v := range vals {
		n += len(v) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, v := range vals {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, v...)
	}
	return append(out, ']')
}

// taskUIDOf reads a top-level numeric field of an answer, or -1.
func taskUIDOf(body []byte, key string) int64 {
	raw, ok := member(body, key)
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(string(trimSpace(raw)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

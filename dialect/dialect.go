package dialect

import (
	"net/http"
	"sort"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

// Dialect is one engine's wire format, both client-facing and shard-facing.
type Dialect interface {
	// Name is the dialect's config name, e.g. "meilisearch".
	Name() string
	// DefaultLimit is the engine's page size when the client gives none.
	DefaultLimit() int

	// DecodeRequest reads a client's search request (path, query string and
	// the already read, size-capped body). Errors are *Error.
	DecodeRequest(r *http.Request, body []byte) (*Query, error)
	// EncodeResponse writes the merged answer in this dialect.
	EncodeResponse(q *Query, res *Response) ([]byte, error)
	// EncodeError writes an error in this dialect's error shape.
	EncodeError(e *Error) []byte

	// BuildRequest builds the request one shard receives. When q came from a
	// client of the same dialect (q.Dialect == Name()), q.Body is passed
	// through with only the pagination window rewritten. A construct this
	// dialect cannot express is an *Error with Status 400.
	BuildRequest(q *Query, t Target) (*Request, error)
	// DecodeResponse reads a shard's 2xx answer. idField names the dedupe
	// field ("" means the dialect's document id). Errors mean the answer is
	// not what this dialect returns (the shard is "invalid"). The list may
	// alias body (documents travel as raw bytes, uncopied), and documents
	// it rewrites may be written into body's spare capacity
	// (body[len(body):cap(body)]): the caller gives all of body's array up
	// to the list and reuses it only once the list is no longer used. The
	// list's Hits may come from a pool: [ReleaseHits] gives them back.
	DecodeResponse(body []byte, idField string) (merge.List, error)
}

// Query is the canonical search request every dialect decodes into.
type Query struct {
	// Dialect is the name of the client dialect that decoded the query.
	Dialect string
	// Index is the index/collection named by the client's path, if any.
	Index string
	// Text is the full-text query.
	Text string
	// Offset and Limit are the client's window. HasLimit is false when the
	// client gave no limit (the handler then applies its default).
	Offset   int
	Limit    int
	HasLimit bool
	// Filter is the translatable filter subset; nil means none. A filter the
	// client dialect cannot parse into this subset is kept only in Body.
	Filter *Filter
	// RawFilter is true when the client sent a filter that did not fit
	// Filter; it can then only be passed through to same-dialect shards.
	RawFilter bool
	// Facets lists the fields to count values for.
	Facets []string
	// Fields lists the document fields to return; nil means all.
	Fields []string
	// Explain asks for per-hit fusion details.
	Explain bool
	// Body and Params are the client's request as sent (JSON body and URL
	// query), for same-dialect pass-through.
	Body   []byte
	Params map[string][]string
	// Method is the client's HTTP method.
	Method string
	// Sort orders hits by document fields, first field first; nil means by
	// relevance. Relevance is always the last tie-break.
	Sort []merge.Order
	// Highlight asks for highlighted or cropped fields; nil means none.
	Highlight *Highlight
	// NativeOnly names what the client sent that only shards of its own
	// dialect can take (a hybrid or vector query, ...): a shard of another
	// dialect refuses the request with a 400 that names the first.
	NativeOnly []string
	// IDField is the field that holds a hit's id in the client's answers
	// ("" means the dialect's own: "id" for Meilisearch, Typesense, Solr).
	IDField string
	// Display is how the client wants the answer shaped (see Display).
	Display Display
}

// Filter is a conjunction of clauses: field = value, or field IN values.
type Filter struct {
	And []Clause
}

// Clause matches documents whose Field equals one of Values.
type Clause struct {
	Field  string
	Values []string
}

// Target is what a dialect needs to address one shard.
type Target struct {
	// Shard is the shard's name (for error messages).
	Shard string
	// Index is the shard's index/collection; "" means the client's.
	Index string
	// Offset and Limit are the window asked of the shard (offset 0 and
	// limit client offset+limit, so the merged page is exact).
	Offset, Limit int
}

// Request is a shard request, relative to the shard's upstreams.
type Request struct {
	Method      string
	Path        string
	RawQuery    string
	Body        []byte
	ContentType string
}

// Status is the outcome of one shard for one request.
type Status string

// Shard statuses of the partial-result contract.
const (
	StatusOK          Status = "ok"          // answered in time with a valid answer
	StatusTimeout     Status = "timeout"     // no answer before its deadline
	StatusError       Status = "error"       // upstream answered an error status or the proxy failed
	StatusUnavailable Status = "unavailable" // no healthy upstream to ask
	StatusInvalid     Status = "invalid"     // answered, but not a valid answer of its dialect (or too large)
	StatusSkipped     Status = "skipped"     // not asked (e.g. the request could not be expressed)
)

// ShardReport is one shard's part of the partial-result contract.
type ShardReport struct {
	Name       string
	Status     Status
	Took       time.Duration
	Replica    string // upstream address that answered, if known
	HTTPStatus int    // upstream HTTP status, 0 if none
	Reason     string // one line; empty when ok
	Hits       int    // hits the shard returned
}

// Response is a merged answer to encode.
type Response struct {
	Result   merge.Result
	Shards   []ShardReport // in config order
	Complete bool          // every shard ok
	Took     time.Duration
}

// Error is a client-visible error; each dialect encodes it in its own shape.
type Error struct {
	Status  int    // HTTP status
	Code    string // machine code, e.g. "bad_request", "shard_timeout"
	Type    string // Meilisearch-style type: invalid_request, internal, system
	Message string // one sentence that says what to do
}

func (e *Error) Error() string { return e.Message }

var registry = map[string]Dialect{}

// register adds d to the registry; each dialect file calls it from init.
func register(d Dialect) { registry[d.Name()] = d }

// Lookup returns the dialect registered under name.
func Lookup(name string) (Dialect, bool) {
	d, ok := registry[name]
	return d, ok
}

// Names lists the registered dialects, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

package dialect

import (
	"bytes"
	"net/url"

	"github.com/searchfront/caddy-federate/merge"
)

// Sort, highlighting and native-only constructs cross dialects here: a
// client's sort and highlight requests are decoded onto Query (Sort,
// Highlight; sort.go, highlight.go), translated into each shard's dialect
// by BuildShardRequest, and read back from each shard's hits by Annotate
// (sort keys, ids, highlights), so that every client dialect's encoder
// writes them in its own shape. Same-dialect shards get the client's request
// as sent; what a shard's dialect cannot express is refused with a 400 that
// names the shard and the construct, never dropped.

// featureTranslator is implemented by shard dialects that can take a sort
// and highlighting translated from another dialect.
type featureTranslator interface {
	// translateSort adds q.Sort (not empty) to req.
	translateSort(req *Request, q *Query, t Target) error
	// translateHighlight adds the highlighting to req.
	translateHighlight(req *Request, hl *Highlight, t Target) error
}

// BuildShardRequest builds shard t's request in dialect d: d.BuildRequest,
// plus the client's sort and highlighting translated into d when the client
// spoke another dialect. A native-only construct (NativeOnly), or a sort or
// highlighting d cannot express, is a 400 *Error naming the shard.
func BuildShardRequest(d Dialect, q *Query, t Target) (*Request, error) {
	same := sameFamily(q.Dialect, d.Name())
	if !same && len(q.NativeOnly) > 0 {
		return nil, unsupportedConstruct(t, d.Name(), q.NativeOnly[0]+" (only "+q.Dialect+" shards take it; leave it out or query only "+q.Dialect+" shards)")
	}
	req, err := d.BuildRequest(q, t)
	hl := q.Highlight
	if _, ok := d.(featureTranslator); !ok && hl != nil && hl.Implicit {
		hl = nil // a default the client did not ask for: no highlights from this shard
	}
	if err != nil || same || (len(q.Sort) == 0 && hl == nil) {
		return req, err
	}
	ft, ok := d.(featureTranslator)
	if !ok {
		what := "a sort by document fields"
		if len(q.Sort) == 0 {
			what = "highlighting"
		}
		return nil, unsupportedConstruct(t, d.Name(), what+" (leave it out or query other shards)")
	}
	if len(q.Sort) > 0 {
		if err := ft.translateSort(req, q, t); err != nil {
			return nil, err
		}
	}
	if hl != nil {
		if err := ft.translateHighlight(req, hl, t); err != nil && !hl.Implicit {
			return nil, err
		}
	}
	return req, nil
}

// Annotate reads from the hits of l, a shard's answer in dialect d, what
// the client's answer needs beyond the document: each hit's sort values
// (when q sorts), its id in the shard (DocID) and its highlighted fragments.
// idField is the dedupe field DecodeResponse was given.
func Annotate(d Dialect, q *Query, l *merge.List, idField string) {
	name := d.Name()
	for i := range l.Hits {
		h := &l.Hits[i]
		h.DocID = shardDocID(name, h, idField)
		if len(q.Sort) > 0 {
			h.Keys = sortKeys(name, h, q.Sort)
		}
		if h.Highlight == nil {
			h.Highlight = shardHighlight(name, h, q.Highlight)
		}
	}
}

// setMembers returns obj with fields set: existing members of those names
// are replaced.
func setMembers(obj []byte, fields ...field) []byte {
	obj = withoutMembers(obj, func(k []byte) bool {
		for _, f := range fields {
			if string(k) == f.Key {
				return true
			}
		}
		return false
	})
	return appendObjectWith(make([]byte, 0, len(obj)+64), obj, fields...)
}

// setParams sets p's values in req's query string.
func setParams(req *Request, p url.Values) {
	cur, _ := url.ParseQuery(req.RawQuery)
	if cur == nil {
		cur = url.Values{}
	}
	for k, v := range p {
		cur[k] = v
	}
	req.RawQuery = cur.Encode()
}

// isJSONBody reports whether req carries a JSON object body.
func isJSONBody(req *Request) bool {
	b := bytes.TrimSpace(req.Body)
	return len(b) > 0 && b[0] == '{'
}

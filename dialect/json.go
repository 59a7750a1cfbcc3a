package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

// JSONConfig configures the generic json dialect: a shard that speaks any
// JSON-over-HTTP search API, described by a request template and JSON
// pointers (RFC 6901) into its answer. It is shard-facing only.
//
// Templates may use these placeholders, which federate substitutes itself
// (they are not Caddy placeholders, which the handler has already replaced):
// {federate.q} the query text, {federate.offset} and {federate.limit} the
// window asked of the shard, {federate.index} the shard's index. Values are
// escaped for where they appear: path-escaped in the path, query-escaped
// after a "?" in the path, and JSON-string-escaped (without quotes) in the
// body, so `{"query":"{federate.q}","size":{federate.limit}}` is a valid
// body for any text.
type JSONConfig struct {
	// Method is the HTTP method of shard requests. Default: POST when Body
	// is set, GET otherwise.
	Method string `json:"method,omitempty"`
	// Path is the request path, with an optional query string, relative to
	// the shard's upstreams, e.g. "/search?q={federate.q}&n={federate.limit}".
	// Required.
	Path string `json:"path,omitempty"`
	// Body is the request body template, sent as application/json. Empty
	// means no body.
	Body string `json:"body,omitempty"`
	// Hits is the JSON pointer to the array of hits in the answer, e.g.
	// "/results" or "/hits/hits". Required; "" means the answer itself is
	// the array.
	Hits string `json:"hits"`
	// ID is the pointer, relative to one hit, to the document id, e.g. "/id".
	// Empty means hits have no id (they are then never deduplicated, unless
	// the route's dedupe field names a document field).
	ID string `json:"id,omitempty"`
	// Score is the pointer, relative to one hit, to its relevance score, e.g.
	// "/score". Empty means the engine is rank-only (hits are unscored).
	Score string `json:"score,omitempty"`
	// Doc is the pointer, relative to one hit, to the document object, e.g.
	// "/_source". Empty means the hit itself is the document.
	Doc string `json:"doc,omitempty"`
	// Total is the pointer to the count of matching documents, e.g.
	// "/total". Empty means unknown: the count of hits returned, reported as
	// a lower bound.
	Total string `json:"total,omitempty"`
}

// jsonDialect is one configured generic JSON engine.
type jsonDialect struct {
	cfg JSONConfig
}

const jsonName = "json"

// NewJSON returns the generic json dialect for cfg, after checking that its
// pointers are well-formed and its body template is valid JSON once the
// placeholders are filled in.
func NewJSON(cfg JSONConfig) (Dialect, error) {
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
		if cfg.Body != "" {
			cfg.Method = http.MethodPost
		}
	}
	cfg.Method = strings.ToUpper(cfg.Method)
	if !strings.HasPrefix(cfg.Path, "/") {
		return nil, fmt.Errorf("json dialect: path %q must start with /", cfg.Path)
	}
	for name, p := range map[string]string{"hits": cfg.Hits, "id": cfg.ID, "score": cfg.Score, "doc": cfg.Doc, "total": cfg.Total} {
		if _, err := parsePointer(p); err != nil {
			return nil, fmt.Errorf("json dialect: %s: %w", name, err)
		}
	}
	if cfg.Body != "" {
		probe := substituteJSON(cfg.Body, "probe \"text\"", 0, 10, "index")
		if !json.Valid([]byte(probe)) {
			return nil, fmt.Errorf("json dialect: body is not valid JSON once placeholders are filled in: %s", probe)
		}
	}
	return &jsonDialect{cfg: cfg}, nil
}

func (*jsonDialect) Name() string      { return jsonName }
func (*jsonDialect) DefaultLimit() int { return 10 }

func jsonShardOnly() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request",
		Message: "The json dialect is shard-only: pick another dialect for the route."}
}

func (*jsonDialect) DecodeRequest(*http.Request, []byte) (*Query, error) { return nil, jsonShardOnly() }

func (*jsonDialect) EncodeResponse(*Query, *Response) ([]byte, error) { return nil, jsonShardOnly() }

func (*jsonDialect) EncodeError(e *Error) []byte {
	b := append([]byte(`{"error":`), appendString(nil, e.Message)...)
	b = append(b, `,"code":`...)
	b = appendString(b, e.Code)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	return append(b, '}')
}

// BuildRequest fills the templates. Filters cannot be expressed in a
// generic engine and are rejected; facets are not asked for.
func (d *jsonDialect) BuildRequest(q *Query, t Target) (*Request, error) {
	if q.RawFilter || (q.Filter != nil && len(q.Filter.And) > 0) {
		return nil, unsupportedConstruct(t, jsonName, "filters (a generic json shard has no filter template)")
	}
	index := targetIndex(q, t)
	limit := windowLimit(t, d.DefaultLimit())
	path, rawQuery, _ := strings.Cut(d.cfg.Path, "?")
	r := &Request{Method: d.cfg.Method, Path: substitute(path, q.Text, t.Offset, limit, index, url.PathEscape)}
	if rawQuery != "" {
		r.RawQuery = substitute(rawQuery, q.Text, t.Offset, limit, index, url.QueryEscape)
	}
	if d.cfg.Body != "" {
		r.Body = []byte(substituteJSON(d.cfg.Body, q.Text, t.Offset, limit, index))
		r.ContentType = "application/json"
	}
	return r, nil
}

func substituteJSON(tmpl, text string, offset, limit int, index string) string {
	esc := func(s string) string {
		b := appendString(nil, s)
		return string(b[1 : len(b)-1])
	}
	return substitute(tmpl, text, offset, limit, index, esc)
}

// substitute replaces the {federate.*} placeholders; esc escapes the
// strings for their context.
func substitute(tmpl, text string, offset, limit int, index string, esc func(string) string) string {
	if !strings.Contains(tmpl, "{federate.") {
		return tmpl
	}
	return strings.NewReplacer(
		"{federate.q}", esc(text),
		"{federate.offset}", strconv.Itoa(offset),
		"{federate.limit}", strconv.Itoa(limit),
		"{federate.index}", esc(index),
	).Replace(tmpl)
}

func (d *jsonDialect) DecodeResponse(body []byte, idField string) (merge.List, error) {
	if !json.Valid(body) {
		return merge.List{}, errInvalidMsg(jsonName, "the answer is not JSON")
	}
	hits, ok, err := lookupPointer(body, d.cfg.Hits)
	if err != nil {
		return merge.List{}, errInvalid(jsonName, err)
	}
	hits = bytes.TrimSpace(hits)
	if !ok || len(hits) == 0 || hits[0] != '[' {
		return merge.List{}, errInvalidMsg(jsonName, "no hits array at "+strconv.Quote(d.cfg.Hits))
	}
	var l merge.List
	l.Hits, err = decodeHits(jsonName, hits, func(h []byte) (merge.Hit, error) {
		hit, err := d.decodeHit(h, idField)
		if err != nil {
			err = errInvalid(jsonName, err)
		}
		return hit, err
	})
	if err != nil {
		return merge.List{}, err
	}
	if d.cfg.Total == "" {
		l.Total, l.TotalRelation = int64(len(l.Hits)), merge.Gte
		return l, nil
	}
	raw, ok, err := lookupPointer(body, d.cfg.Total)
	if err != nil || !ok {
		return merge.List{}, errInvalidMsg(jsonName, "no total at "+strconv.Quote(d.cfg.Total))
	}
	f, ok := rawFloat(raw)
	if !ok || f < 0 || f > 1<<53 {
		return merge.List{}, errInvalidMsg(jsonName, "the total at "+strconv.Quote(d.cfg.Total)+" is not a count")
	}
	l.Total = int64(f)
	return l, nil
}

func (d *jsonDialect) decodeHit(h []byte, idField string) (merge.Hit, error) {
	hit := merge.Hit{Native: h, Doc: h}
	if d.cfg.Doc != "" {
		doc, ok, err := lookupPointer(h, d.cfg.Doc)
		if err != nil {
			return hit, err
		}
		if !ok {
			return hit, errors.New("a hit has no document at " + strconv.Quote(d.cfg.Doc))
		}
		hit.Doc = doc
	}
	if idField != "" {
		if v, ok := lookupPath(hit.Doc, idField); ok {
			hit.ID = scalarString(v)
		}
	} else if d.cfg.ID != "" {
		if v, ok, _ := lookupPointer(h, d.cfg.ID); ok {
			hit.ID = scalarString(v)
		}
	}
	if d.cfg.Score != "" {
		if v, ok, _ := lookupPointer(h, d.cfg.Score); ok {
			hit.Score, hit.Scored = rawFloat(v)
		}
	}
	return hit, nil
}

// parsePointer splits an RFC 6901 JSON pointer into its unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("JSON pointer %q must be empty or start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 >= len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("JSON pointer %q: ~ must be followed by 0 or 1", p)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// lookupPointer evaluates the JSON pointer p on doc (valid JSON), decoding
// only the members and elements along the path. ok is false when the path
// does not exist; err is set for a malformed pointer or document.
func lookupPointer(doc []byte, p string) (val []byte, ok bool, err error) {
	toks, err := parsePointer(p)
	if err != nil {
		return nil, false, err
	}
	cur := bytes.TrimSpace(doc)
	for _, tok := range toks {
		if len(cur) == 0 {
			return nil, false, errBadJSON
		}
		var next []byte
		found := false
		switch cur[0] {
		case '{':
			// The last duplicate wins, as in encoding/json.
			err = eachMember(cur, func(k string, v []byte, _, _ int) bool {
				if k == tok {
					next, found = v, true
				}
				return true
			})
		case '[':
			idx, valid := arrayIndex(tok)
			if !valid {
				return nil, false, nil
			}
			n := 0
			err = eachElement(cur, func(v []byte) bool {
				if n == idx {
					next, found = v, true
				}
				n++
				return !found
			})
		default:
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if !found {
			return nil, false, nil
		}
		cur = bytes.TrimSpace(next)
	}
	return cur, true, nil
}

// arrayIndex reads an RFC 6901 array index: digits without leading zeros.
// "-" (past the end) and anything else match nothing.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
		n = n*10 + int(tok[i]-'0')
	}
	return n, true
}

// splitIndex reads a shard index of the form "name?param=value&...": the
// engine's index (collection, table) and extra request parameters the
// operator enforces (used by solr, typesense and groonga; see enforceParams).
func splitIndex(index string) (string, url.Values, error) {
	name, rawQuery, found := strings.Cut(index, "?")
	if !found {
		return name, nil, nil
	}
	extra, err := url.ParseQuery(rawQuery)
	return name, extra, err
}

// askedFacets keeps the merged facets the client asked for, in its order:
// shards may count more fields than asked (pass-through, shard defaults).
func askedFacets(q *Query, fs []merge.Facet) []merge.Facet {
	out := make([]merge.Facet, 0, len(q.Facets))
	for _, name := range q.Facets {
		for i := range fs {
			if fs[i].Name == name {
				out = append(out, fs[i])
				break
			}
		}
	}
	return out
}

package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// typesense speaks Typesense's search API
// (https://typesense.org/docs/30.0/api/search.html and
// .../federated-multi-search.html). Clients call GET
// /collections/{c}/documents/search or POST /multi_search; shards are asked
// GET /collections/{index}/documents/search.
//
// Typesense requires query_by; a shard gets it from the client's request
// (same dialect) or from its index string, e.g.
// "products?query_by=title,description", whose parameters fill in whatever
// the request does not set.
//
// Typesense has no partial-result field: when a shard failed, merged answers
// carry an extra top-level member "federate": {"complete": false,
// "shards": {name: {status, took_ms, replica, http_status, reason}}}.
// Typesense clients ignore unknown members.
type typesense struct{}

func init() { register(typesense{}) }

const (
	tsName = "typesense"
	// tsMaxPerPage is Typesense's largest per_page.
	tsMaxPerPage = 250
	// tsScoreScale turns fused float scores into the integer text_match
	// Typesense clients expect, keeping their order.
	tsScoreScale = 1e9
)

func (typesense) Name() string      { return tsName }
func (typesense) DefaultLimit() int { return 10 }

func tsError(status int, msg string) *Error {
	return &Error{Status: status, Code: "bad_request", Type: "invalid_request", Message: msg}
}

var _ MultiSearcher = typesense{}

func (t typesense) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	params := url.Values{}
	path := ""
	if r.URL != nil {
		params, path = r.URL.Query(), r.URL.Path
	}
	segs := pathSegments(path)
	q := &Query{Dialect: tsName, Method: r.Method, Params: params}
	for i := len(segs) - 1; i >= 3; i-- {
		if segs[i] == "search" && segs[i-1] == "documents" && segs[i-3] == "collections" {
			q.Index, _ = url.PathUnescape(segs[i-2])
			break
		}
	}
	return q, decodeTSParams(q, params)
}

// tsParamValue renders a multi_search parameter as its query-string form.
func tsParamValue(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case '{', '[', 'n':
		return "", false
	}
	return string(raw), true
}

// decodeTSParams reads q, page/per_page (or offset/limit), filter_by,
// facet_by and include_fields.
func decodeTSParams(q *Query, p url.Values) error {
	if _, ok := p["q"]; !ok {
		return tsError(http.StatusBadRequest, "Parameter `q` is required.")
	}
	if text := strings.TrimSpace(p.Get("q")); text != "*" {
		q.Text = text
	}
	page, perPage := 1, 10
	var ok bool
	if s := p.Get("page"); s != "" {
		if page, ok = parseCount(s); !ok || page == 0 {
			return tsError(http.StatusBadRequest, "Parameter `page` must be an unsigned integer starting at 1.")
		}
	}
	if s := p.Get("per_page"); s != "" {
		if perPage, ok = parseCount(s); !ok {
			return tsError(http.StatusBadRequest, "Parameter `per_page` must be an unsigned integer.")
		}
		q.HasLimit = true
	}
	if s := p.Get("limit"); s != "" {
		if perPage, ok = parseCount(s); !ok {
			return tsError(http.StatusBadRequest, "Parameter `limit` must be an unsigned integer.")
		}
		q.HasLimit = true
	}
	if perPage > tsMaxPerPage {
		return tsError(http.StatusUnprocessableEntity, "Only upto 250 hits can be fetched per page.")
	}
	q.Limit, q.Offset = perPage, (page-1)*perPage
	if s := p.Get("offset"); s != "" {
		if q.Offset, ok = parseCount(s); !ok {
			return tsError(http.StatusBadRequest, "Parameter `offset` must be an unsigned integer.")
		}
	}
	if fb := strings.TrimSpace(p.Get("filter_by")); fb != "" {
		if clauses, ok := parseTSFilter(fb); ok {
			q.Filter = &Filter{And: clauses}
		} else {
			q.RawFilter = true
		}
	}
	q.Facets = splitList(p.Get("facet_by"))
	q.Fields = splitList(p.Get("include_fields"))
	return decodeTSFeatures(q, p)
}

// parseTSFilter parses `f:=v && g:=[a,b]` (values bare or in backticks);
// `f:v` is taken as equality only for numbers and booleans, since on
// strings Typesense matches it by token.
func parseTSFilter(s string) ([]Clause, bool) {
	var out []Clause
	for _, part := range splitTSOutside(s, "&&") {
		part = strings.TrimSpace(part)
		i := strings.IndexByte(part, ':')
		if i <= 0 || !isFieldName(strings.TrimSpace(part[:i])) {
			return nil, false
		}
		c := Clause{Field: strings.TrimSpace(part[:i])}
		rest := part[i+1:]
		exact := strings.HasPrefix(rest, "=")
		if exact {
			rest = rest[1:]
		}
		rest = strings.TrimSpace(rest)
		items := []string{rest}
		if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
			items = splitTSOutside(rest[1:len(rest)-1], ",")
		}
		for _, it := range items {
			v, ok := tsValue(strings.TrimSpace(it))
			if !ok || (!exact && !isLiteral(v)) {
				return nil, false
			}
			c.Values = append(c.Values, v)
		}
		out = append(out, c)
	}
	return out, len(out) > 0
}

// splitTSOutside splits s on sep outside backtick-quoted values.
func splitTSOutside(s, sep string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			quoted = !quoted
		} else if !quoted && strings.HasPrefix(s[i:], sep) {
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

// tsValue reads one filter value: `quoted` or a bare token without
// operators.
func tsValue(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' && !strings.Contains(s[1:len(s)-1], "`") {
		return s[1 : len(s)-1], true
	}
	if s == "" || strings.ContainsAny(s, "`()[]<>!=|&,") || strings.Contains(s, "..") {
		return "", false
	}
	return s, true
}

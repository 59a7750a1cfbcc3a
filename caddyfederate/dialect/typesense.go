package dialect

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
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

// MultiSearcher is implemented by client dialects whose one request can
// carry several independent searches (Typesense's POST /multi_search). A
// handler that knows it fans every search out on its own and answers with
// EncodeMulti; one that does not answers the first search only (EncodeResponse
// then reports the others as not run).
type MultiSearcher interface {
	// SplitSearches returns the searches of q in request order, or nil when
	// q is a single search.
	SplitSearches(q *Query) ([]*Query, error)
	// EncodeMulti writes the answers to SplitSearches' queries, in order;
	// res[i] is nil when errs[i] says why search i failed.
	EncodeMulti(qs []*Query, res []*Response, errs []*Error) ([]byte, error)
}

var _ MultiSearcher = typesense{}

func (t typesense) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	params := url.Values{}
	path := ""
	if r.URL != nil {
		params, path = r.URL.Query(), r.URL.Path
	}
	segs := pathSegments(path)
	if len(segs) > 0 && segs[len(segs)-1] == "multi_search" {
		qs, err := t.decodeMulti(params, body, r.Method)
		if err != nil {
			return nil, err
		}
		// The query describes the first search; Params stay the URL's common
		// parameters and Body the whole request, for SplitSearches.
		q := qs[0]
		q.Params, q.Body = params, bytes.TrimSpace(body)
		return q, nil
	}
	q := &Query{Dialect: tsName, Method: r.Method, Params: params}
	for i := len(segs) - 1; i >= 3; i-- {
		if segs[i] == "search" && segs[i-1] == "documents" && segs[i-3] == "collections" {
			q.Index, _ = url.PathUnescape(segs[i-2])
			break
		}
	}
	return q, decodeTSParams(q, params)
}

// SplitSearches re-reads the multi_search body kept in q.Body.
func (t typesense) SplitSearches(q *Query) ([]*Query, error) {
	if len(q.Body) == 0 {
		return nil, nil
	}
	return t.decodeMulti(q.Params, q.Body, q.Method)
}

// decodeMulti reads {"searches":[{collection, q, ...}]}; URL parameters are
// defaults for every search, as in Typesense.
func (typesense) decodeMulti(common url.Values, body []byte, method string) ([]*Query, error) {
	var m struct {
		Searches []map[string]json.RawMessage `json:"searches"`
		Union    bool                         `json:"union"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, tsError(http.StatusBadRequest, "Bad JSON.")
	}
	if m.Union {
		return nil, tsError(http.StatusBadRequest, "federate does not take union multi_search; send the searches without union.")
	}
	if len(m.Searches) == 0 {
		return nil, tsError(http.StatusBadRequest, "Missing `searches` array.")
	}
	qs := make([]*Query, len(m.Searches))
	for i, s := range m.Searches {
		p := url.Values{}
		for k, v := range common {
			p[k] = append([]string(nil), v...)
		}
		for k, raw := range s {
			v, ok := tsParamValue(raw)
			if !ok {
				return nil, tsError(http.StatusBadRequest, "Search "+strconv.Itoa(i)+": parameter `"+k+"` must be a string, number or boolean.")
			}
			p.Set(k, v)
		}
		q := &Query{Dialect: tsName, Method: method, Params: p, Index: p.Get("collection")}
		if err := decodeTSParams(q, p); err != nil {
			return nil, err
		}
		qs[i] = q
	}
	return qs, nil
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
	return nil
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
			if !ok || (!exact && !tsScalar(v)) {
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

// tsScalar reports a number or boolean literal.
func tsScalar(v string) bool {
	if v == "true" || v == "false" {
		return true
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// formatTSFilter writes f as `a:=[`x`,`y`] && b:=`z“.
func formatTSFilter(f *Filter, t Target) (string, error) {
	parts := make([]string, 0, len(f.And))
	for _, c := range f.And {
		if !isFieldName(c.Field) || len(c.Values) == 0 {
			return "", unsupportedConstruct(t, tsName, "filter field "+strconv.Quote(c.Field))
		}
		vs := make([]string, len(c.Values))
		for i, v := range c.Values {
			if strings.Contains(v, "`") {
				return "", unsupportedConstruct(t, tsName, "a filter value containing a backtick")
			}
			vs[i] = "`" + v + "`"
		}
		if len(vs) == 1 {
			parts = append(parts, c.Field+":="+vs[0])
		} else {
			parts = append(parts, c.Field+":=["+strings.Join(vs, ",")+"]")
		}
	}
	return strings.Join(parts, " && "), nil
}

func (ts typesense) BuildRequest(q *Query, t Target) (*Request, error) {
	index := t.Index
	if index == "" {
		index = q.Index
	}
	name, extra, err := splitIndex(index)
	if err != nil || name == "" {
		return nil, tsError(http.StatusBadRequest, "Shard "+t.Shard+" needs a Typesense collection: set `index` on the shard (e.g. \"products?query_by=title\") or call /collections/{c}/documents/search.")
	}
	p := url.Values{}
	if q.Dialect == tsName {
		src := q.Params
		if len(q.Body) > 0 { // the first search of a multi_search
			qs, err := ts.SplitSearches(q)
			if err != nil {
				return nil, err
			}
			src = qs[0].Params
		}
		for k, v := range src {
			p[k] = append([]string(nil), v...)
		}
		p.Del("collection")
	} else {
		if q.RawFilter {
			return nil, unsupportedFilter(q, t, tsName)
		}
		p.Set("q", "*")
		if q.Text != "" {
			p.Set("q", q.Text)
		}
		if q.Filter != nil && len(q.Filter.And) > 0 {
			fb, err := formatTSFilter(q.Filter, t)
			if err != nil {
				return nil, err
			}
			p.Set("filter_by", fb)
		}
		if len(q.Facets) > 0 {
			p.Set("facet_by", strings.Join(q.Facets, ","))
			p.Set("max_facet_values", "100")
		}
		if q.Fields != nil {
			p.Set("include_fields", strings.Join(append(append([]string{}, q.Fields...), "id"), ","))
		}
	}
	fillParams(p, extra)
	if p.Get("query_by") == "" {
		return nil, tsError(http.StatusBadRequest, "Shard "+t.Shard+" (typesense) needs query_by: give it in the shard's index, e.g. \""+name+"?query_by=title,description\".")
	}
	if err := setTSWindow(p, t, windowLimit(t, ts.DefaultLimit())); err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodGet, Path: "/collections/" + url.PathEscape(name) + "/documents/search", RawQuery: p.Encode()}, nil
}

// setTSWindow asks for [t.Offset, t.Offset+limit): page=1 and
// per_page=limit from offset 0, page arithmetic when the offset is a
// multiple of the limit, offset/limit parameters otherwise.
func setTSWindow(p url.Values, t Target, limit int) error {
	for _, k := range []string{"page", "per_page", "offset", "limit"} {
		p.Del(k)
	}
	if limit > tsMaxPerPage {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request",
			Message: "Shard " + t.Shard + " (typesense) cannot return " + strconv.Itoa(limit) + " hits in one page (at most 250): ask for a smaller window."}
	}
	switch {
	case t.Offset == 0:
		p.Set("page", "1")
		p.Set("per_page", strconv.Itoa(limit))
	case limit > 0 && t.Offset%limit == 0:
		p.Set("page", strconv.Itoa(t.Offset/limit+1))
		p.Set("per_page", strconv.Itoa(limit))
	default:
		p.Set("offset", strconv.Itoa(t.Offset))
		p.Set("limit", strconv.Itoa(limit))
	}
	return nil
}

// tsAnswer is the part of a search answer that is decoded; hits stay raw.
type tsAnswer struct {
	Found        *int64          `json:"found"`
	SearchCutoff bool            `json:"search_cutoff"`
	Hits         json.RawMessage `json:"hits"`
	FacetCounts  []struct {
		FieldName string `json:"field_name"`
		Counts    []struct {
			Count int64           `json:"count"`
			Value json.RawMessage `json:"value"`
		} `json:"counts"`
		Stats struct {
			TotalValues *int64 `json:"total_values"`
		} `json:"stats"`
	} `json:"facet_counts"`
}

func (typesense) DecodeResponse(body []byte, idField string) (merge.List, error) {
	var a tsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return merge.List{}, errInvalid(tsName, err)
	}
	if a.Found == nil || a.Hits == nil || string(a.Hits) == "null" {
		return merge.List{}, errInvalidMsg(tsName, "no found and hits (grouped answers are not federated)")
	}
	if idField == "" {
		idField = "id"
	}
	l := merge.List{Total: *a.Found}
	if a.SearchCutoff {
		l.TotalRelation = merge.Gte
	}
	var bad error
	err := eachElement(a.Hits, func(h []byte) bool {
		hit, err := decodeTSHit(h, idField)
		if err != nil {
			bad = err
			return false
		}
		l.Hits = append(l.Hits, hit)
		return true
	})
	if bad == nil && err != nil {
		bad = errInvalid(tsName, err)
	}
	if bad != nil {
		return merge.List{}, bad
	}
	for _, f := range a.FacetCounts {
		if l.Facets == nil {
			l.Facets = map[string]map[string]int64{}
		}
		m := l.Facets[f.FieldName]
		if m == nil {
			m = make(map[string]int64, len(f.Counts))
			l.Facets[f.FieldName] = m
		}
		for _, c := range f.Counts {
			m[scalarString(c.Value)] += c.Count
		}
		if f.Stats.TotalValues != nil && *f.Stats.TotalValues > int64(len(f.Counts)) {
			l.FacetsTruncated = true
		}
	}
	return l, nil
}

// decodeTSHit reads document, text_match and (when text_match is absent)
// text_match_info.score from one hit.
func decodeTSHit(h []byte, idField string) (merge.Hit, error) {
	hit := merge.Hit{Native: h}
	var info []byte
	err := eachMember(h, func(k string, v []byte, _, _ int) bool {
		switch k {
		case "document":
			hit.Doc = v
		case "text_match":
			hit.Score, hit.Scored = rawFloat(v)
		case "text_match_info":
			info = v
		}
		return true
	})
	if err != nil {
		return hit, errInvalidMsg(tsName, "a hit is not an object")
	}
	if !isObject(hit.Doc) {
		return hit, errInvalidMsg(tsName, "a hit has no document object")
	}
	if !hit.Scored && info != nil {
		if v, ok := member(info, "score"); ok {
			var s string
			if json.Unmarshal(v, &s) == nil {
				if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
					hit.Score, hit.Scored = f, true
				}
			}
		}
	}
	if v, ok := lookupPath(hit.Doc, idField); ok {
		hit.ID = scalarString(v)
	}
	return hit, nil
}

func (typesense) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	b := appendTSResult(make([]byte, 0, 1024+512*len(res.Result.Hits)), q, res)
	if len(q.Body) == 0 {
		return b, nil
	}
	// A multi_search client whose searches were not split: answer the first
	// and say the others did not run.
	var m struct {
		Searches []json.RawMessage `json:"searches"`
	}
	_ = json.Unmarshal(q.Body, &m)
	out := append(make([]byte, 0, len(b)+64), `{"results":[`...)
	out = append(out, b...)
	for i := 1; i < len(m.Searches); i++ {
		out = append(out, `,{"code":501,"error":"federate ran only the first search of this multi_search request."}`...)
	}
	return append(out, "]}"...), nil
}

func (typesense) EncodeMulti(qs []*Query, res []*Response, errs []*Error) ([]byte, error) {
	b := append(make([]byte, 0, 4096), `{"results":[`...)
	for i, q := range qs {
		if i > 0 {
			b = append(b, ',')
		}
		if i < len(res) && res[i] != nil {
			b = appendTSResult(b, q, res[i])
			continue
		}
		e := &Error{Status: http.StatusInternalServerError, Message: "The search was not run."}
		if i < len(errs) && errs[i] != nil {
			e = errs[i]
		}
		b = append(b, `{"code":`...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = append(b, `,"error":`...)
		b = appendString(b, e.Message)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// appendTSResult writes one search answer.
func appendTSResult(b []byte, q *Query, res *Response) []byte {
	r := &res.Result
	limit := clientLimit(q, 10)
	b = append(b, `{"facet_counts":[`...)
	for i, f := range askedFacets(q, r.Facets) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"counts":[`...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, `,"highlighted":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"value":`...)
			b = appendString(b, v.Value)
			b = append(b, '}')
		}
		b = append(b, `],"field_name":`...)
		b = appendString(b, f.Name)
		b = append(b, `,"sampled":false,"stats":{"total_values":`...)
		b = strconv.AppendInt(b, int64(len(f.Values)), 10)
		b = append(b, "}}"...)
	}
	b = append(b, `],"found":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"hits":[`...)
	for i := range r.Hits {
		if i > 0 {
			b = append(b, ',')
		}
		h := &r.Hits[i]
		b = append(b, `{"document":`...)
		b = appendDoc(b, h.Doc)
		b = append(b, `,"highlight":{},"highlights":[],"text_match":`...)
		b = strconv.AppendInt(b, tsTextMatch(h.Score), 10)
		b = append(b, '}')
	}
	// out_of is the collections' size, which federate does not know; found
	// is the largest count it can vouch for.
	b = append(b, `],"out_of":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"page":`...)
	page := 1
	if limit > 0 {
		page = q.Offset/limit + 1
	}
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, `,"request_params":{"collection_name":`...)
	b = appendString(b, q.Index)
	text := q.Text
	if text == "" {
		text = "*"
	}
	b = append(b, `,"first_q":`...)
	b = appendString(b, text)
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"q":`...)
	b = appendString(b, text)
	b = append(b, `},"search_cutoff":`...)
	b = strconv.AppendBool(b, !res.Complete)
	b = append(b, `,"search_time_ms":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	if !res.Complete {
		b = append(b, `,"federate":`...)
		b = appendTSFederate(b, res.Shards)
	}
	return append(b, '}')
}

// tsTextMatch scales a fused score to an integer, clamped to int64.
func tsTextMatch(s float64) int64 {
	v := math.Round(s * tsScoreScale)
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}

// appendTSFederate writes {"complete":false,"shards":{...}}.
func appendTSFederate(b []byte, rs []ShardReport) []byte {
	b = append(b, `{"complete":false,"shards":{`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, `:{"status":`...)
		b = appendString(b, string(r.Status))
		b = append(b, `,"took_ms":`...)
		b = strconv.AppendInt(b, tookMillis(r.Took), 10)
		if r.Replica != "" {
			b = append(b, `,"replica":`...)
			b = appendString(b, r.Replica)
		}
		if r.HTTPStatus != 0 {
			b = append(b, `,"http_status":`...)
			b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
		}
		if r.Status != StatusOK {
			b = append(b, `,"reason":`...)
			b = appendString(b, shardReason(r))
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

func (typesense) EncodeError(e *Error) []byte {
	return append(appendString([]byte(`{"message":`), e.Message), '}')
}

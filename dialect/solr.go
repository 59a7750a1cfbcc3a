package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// solr speaks Apache Solr's select API with the JSON response writer
// (https://solr.apache.org/guide/solr/latest/query-guide/common-query-parameters.html,
// .../response-writers.html#json-response-writer, .../faceting.html,
// .../json-request-api.html). Clients call GET or POST
// /solr/{collection}/select (or /query) with q, start, rows, fl, fq,
// facet.field and debugQuery, or POST a JSON Request API body {query, offset,
// limit, filter, fields, facet, params}. Shards are asked the same way with
// fl=*,score and wt=json; translated text runs through edismax with q.op=OR.
//
// Merged answers carry Solr's own partial-result signals: responseHeader
// .partialResults true when a shard failed, and a "shards.info" section as
// Solr writes with shards.info=true (time, shardAddress, error, trace per
// shard). A hit's Doc is the document as the shard returned it.
type solr struct{}

func init() { register(solr{}) }

const solrName = "solr"

func (solr) Name() string      { return solrName }
func (solr) DefaultLimit() int { return 10 }

// solrError is a Solr 400 with a federate code.
func solrError(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Type: "invalid_request", Message: msg}
}

// solrCollection returns the collection in /solr/{collection}/select, or the
// segment before a trailing select/query wherever the route mounts it.
func solrCollection(p string) string {
	segs := pathSegments(p)
	for i := len(segs) - 1; i >= 1; i-- {
		if segs[i] == "select" || segs[i] == "query" {
			if c, err := url.PathUnescape(segs[i-1]); err == nil && c != "solr" {
				return c
			}
		}
	}
	return ""
}

func (solr) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	q := &Query{Dialect: solrName, Method: r.Method, Params: url.Values{}}
	if r.URL != nil {
		q.Index = solrCollection(r.URL.Path)
		q.Params = r.URL.Query()
	}
	body = bytes.TrimSpace(body)
	isJSON := len(body) > 0 && (body[0] == '{' || strings.Contains(r.Header.Get("Content-Type"), "json"))
	if r.Method == http.MethodPost && len(body) > 0 && !isJSON {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, solrError("bad_request", "The form body could not be parsed: "+err.Error())
		}
		for k, v := range form {
			q.Params[k] = append(q.Params[k], v...)
		}
	}
	if err := decodeSolrParams(q, q.Params); err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost && isJSON {
		q.Body = body
		return q, decodeSolrJSON(q, body)
	}
	return q, nil
}

// decodeSolrParams reads the common query parameters.
func decodeSolrParams(q *Query, p url.Values) error {
	if wt := p.Get("wt"); wt != "" && wt != "json" {
		return solrError("bad_request", "federate answers wt=json only, not wt="+wt+".")
	}
	q.Text = solrText(p.Get("q"))
	var ok bool
	if s := p.Get("start"); s != "" {
		if q.Offset, ok = parseCount(s); !ok {
			return solrError("bad_request", "start must be a non-negative integer, not "+strconv.Quote(s)+".")
		}
	}
	if s := p.Get("rows"); s != "" {
		if q.Limit, ok = parseCount(s); !ok {
			return solrError("bad_request", "rows must be a non-negative integer, not "+strconv.Quote(s)+".")
		}
		q.HasLimit = true
	}
	var fl []string
	for _, v := range p["fl"] {
		fl = append(fl, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	q.Fields = solrFields(fl)
	addSolrFilters(q, p["fq"])
	if on := p.Get("facet"); on == "true" || on == "on" {
		for _, f := range p["facet.field"] {
			q.Facets = append(q.Facets, stripLocalParams(f))
		}
	}
	dbg := p.Get("debug")
	q.Explain = p.Get("debugQuery") == "true" || dbg == "true" || dbg == "all" || dbg == "results"
	return decodeSolrFeatures(q, p)
}

// solrText maps Solr's match-all query to the empty text.
func solrText(s string) string {
	if t := strings.TrimSpace(s); t != "*:*" && t != "*" {
		return t
	}
	return ""
}

// solrFields turns fl into document fields; nil (all) when fl is absent or
// holds a wildcard. score is not a document field.
func solrFields(fl []string) []string {
	var out []string
	for _, f := range fl {
		switch {
		case f == "score" || f == "":
		case strings.ContainsAny(f, "*?"):
			return nil
		default:
			out = append(out, f)
		}
	}
	return out
}

// stripLocalParams drops a leading {!...} from a parameter value.
func stripLocalParams(s string) string {
	if strings.HasPrefix(s, "{!") {
		if i := strings.IndexByte(s, '}'); i > 0 {
			return s[i+1:]
		}
	}
	return s
}

// addSolrFilters adds fq values to q: each must be field:value or
// field:(a OR b), else the whole filter is only passed through.
func addSolrFilters(q *Query, fqs []string) {
	for _, fq := range fqs {
		c, ok := parseSolrFilter(fq)
		if !ok {
			q.RawFilter = true
			continue
		}
		if q.Filter == nil {
			q.Filter = &Filter{}
		}
		q.Filter.And = append(q.Filter.And, c)
	}
}

// parseSolrFilter parses field:value, field:"value" and
// field:(v1 OR v2 ...) into a clause.
func parseSolrFilter(s string) (Clause, bool) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, ':')
	if i <= 0 || !isFieldName(s[:i]) {
		return Clause{}, false
	}
	c := Clause{Field: s[:i]}
	rest := strings.TrimSpace(s[i+1:])
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
		for {
			v, n, ok := solrTerm(rest)
			if !ok {
				return Clause{}, false
			}
			c.Values = append(c.Values, v)
			rest = strings.TrimSpace(rest[n:])
			if rest == "" {
				return c, true
			}
			if !strings.HasPrefix(rest, "OR ") {
				return Clause{}, false
			}
			rest = strings.TrimSpace(rest[3:])
		}
	}
	v, n, ok := solrTerm(rest)
	if !ok || n != len(rest) {
		return Clause{}, false
	}
	c.Values = []string{v}
	return c, true
}

// solrTerm reads one quoted phrase or plain term (with backslash escapes)
// and returns its value and length. Operators, ranges and wildcards fail.
func solrTerm(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	var b strings.Builder
	if s[0] == '"' {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 >= len(s) {
					return "", 0, false
				}
				i++
				b.WriteByte(s[i])
			case '"':
				return b.String(), i + 1, true
			default:
				b.WriteByte(s[i])
			}
		}
		return "", 0, false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			b.WriteByte(s[i])
			continue
		}
		if c == ' ' || c == '\t' || c == ')' {
			break
		}
		if strings.IndexByte(`+-!(){}[]^"~*?:/&|\`, c) >= 0 {
			return "", 0, false
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "", 0, false
	}
	if v := b.String(); v == "AND" || v == "OR" || v == "NOT" || v == "TO" {
		return "", 0, false
	}
	return b.String(), i, true
}

// solrJSONRequest is a JSON Request API body.
type solrJSONRequest struct {
	Query  json.RawMessage            `json:"query"`
	Offset *int                       `json:"offset"`
	Limit  *int                       `json:"limit"`
	Filter json.RawMessage            `json:"filter"`
	Fields json.RawMessage            `json:"fields"`
	Facet  map[string]json.RawMessage `json:"facet"`
	Sort   *string                    `json:"sort"`
}

// decodeSolrJSON reads the simple form of the JSON Request API.
func decodeSolrJSON(q *Query, body []byte) error {
	var j solrJSONRequest
	if err := json.Unmarshal(body, &j); err != nil {
		return solrError("bad_request", "The JSON request body could not be parsed: "+err.Error())
	}
	if j.Sort != nil {
		if err := decodeSolrSort(q, *j.Sort); err != nil {
			return err
		}
	}
	if j.Query != nil {
		var s string
		if json.Unmarshal(j.Query, &s) != nil {
			return solrError("bad_request", "federate accepts only a string \"query\" in JSON requests (no JSON Query DSL objects).")
		}
		q.Text = solrText(s)
	}
	if j.Offset != nil {
		if *j.Offset < 0 {
			return solrError("bad_request", "offset must be non-negative.")
		}
		q.Offset = *j.Offset
	}
	if j.Limit != nil {
		if *j.Limit < 0 {
			return solrError("bad_request", "limit must be non-negative.")
		}
		q.Limit, q.HasLimit = *j.Limit, true
	}
	if j.Filter != nil {
		fs, ok := rawStrings(j.Filter)
		if !ok {
			return solrError("bad_request", "\"filter\" must be a string or an array of strings.")
		}
		addSolrFilters(q, fs)
	}
	if j.Fields != nil {
		fs, ok := rawStrings(j.Fields)
		if !ok {
			return solrError("bad_request", "\"fields\" must be a string or an array of strings.")
		}
		var fl []string
		for _, f := range fs {
			fl = append(fl, strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == ' ' })...)
		}
		q.Fields = solrFields(fl)
	}
	names := make([]string, 0, len(j.Facet))
	for name := range j.Facet {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field, ok := solrTermsFacet(j.Facet[name])
		if !ok {
			return solrError("bad_request", "JSON facet "+strconv.Quote(name)+" must be {\"type\":\"terms\",\"field\":...}; other facet types are not federated.")
		}
		q.Facets = append(q.Facets, field)
		q.Display.FacetNames = append(q.Display.FacetNames, NamedFacet{Name: name, Field: field})
	}
	return nil
}

// solrTermsFacet reads the field of a terms facet {"type":"terms","field":f}.
func solrTermsFacet(raw json.RawMessage) (string, bool) {
	var f struct {
		Type  string `json:"type"`
		Field string `json:"field"`
	}
	if json.Unmarshal(raw, &f) != nil || f.Field == "" || (f.Type != "" && f.Type != "terms") {
		return "", false
	}
	return f.Field, true
}

// Route serves the search handlers, /select and /query (GET or POST).
func (solr) Route(method, path string) Endpoint {
	if segs := lastSegments(path, 1); len(segs) == 1 && (segs[0] == "select" || segs[0] == "query") {
		return allowSearch(method, http.MethodGet, http.MethodHead, http.MethodPost)
	}
	return Endpoint{Op: OpNotFound}
}

package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
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
	return nil
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

// isFieldName accepts the field names the translatable subset allows.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && c == '-') {
			return false
		}
	}
	return true
}

// solrJSONRequest is a JSON Request API body.
type solrJSONRequest struct {
	Query  json.RawMessage            `json:"query"`
	Offset *int                       `json:"offset"`
	Limit  *int                       `json:"limit"`
	Filter json.RawMessage            `json:"filter"`
	Fields json.RawMessage            `json:"fields"`
	Facet  map[string]json.RawMessage `json:"facet"`
}

// decodeSolrJSON reads the simple form of the JSON Request API.
func decodeSolrJSON(q *Query, body []byte) error {
	var j solrJSONRequest
	if err := json.Unmarshal(body, &j); err != nil {
		return solrError("bad_request", "The JSON request body could not be parsed: "+err.Error())
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

func (s solr) BuildRequest(q *Query, t Target) (*Request, error) {
	index := t.Index
	if index == "" {
		index = q.Index
	}
	name, extra, err := splitIndex(index)
	if err != nil || name == "" {
		return nil, solrError("bad_request", "Shard "+t.Shard+" needs a Solr collection: set `index` on the shard (e.g. \"books\" or \"books?qf=title^2 body\") or call /solr/{collection}/select.")
	}
	path := "/solr/" + url.PathEscape(name) + "/select"
	limit := windowLimit(t, s.DefaultLimit())
	if q.Dialect == solrName {
		return solrPassThrough(q, t, path, limit, extra)
	}
	if q.RawFilter {
		return nil, unsupportedFilter(q, t, solrName)
	}
	p := url.Values{}
	if q.Text == "" {
		p.Set("q", "*:*")
	} else {
		p.Set("q", q.Text)
		p.Set("defType", "edismax")
		p.Set("q.op", "OR")
	}
	p.Set("start", strconv.Itoa(t.Offset))
	p.Set("rows", strconv.Itoa(limit))
	p.Set("fl", "*,score")
	if q.Fields != nil {
		p.Set("fl", strings.Join(append(append([]string{}, q.Fields...), "id", "score"), ","))
	}
	p.Set("wt", "json")
	if q.Filter != nil {
		for _, c := range q.Filter.And {
			fq, err := formatSolrClause(c, t)
			if err != nil {
				return nil, err
			}
			p.Add("fq", fq)
		}
	}
	if len(q.Facets) > 0 {
		p.Set("facet", "true")
		p.Set("facet.mincount", "1")
		p.Set("facet.limit", strconv.Itoa(solrFacetLimit))
		for _, f := range q.Facets {
			p.Add("facet.field", f)
		}
	}
	fillParams(p, extra)
	return &Request{Method: http.MethodGet, Path: path, RawQuery: p.Encode()}, nil
}

// solrFacetLimit is facet.limit asked of translated shards; a facet with
// this many values is reported as truncated.
const solrFacetLimit = 100

// formatSolrClause writes a clause as field:"v" or field:("a" OR "b").
func formatSolrClause(c Clause, t Target) (string, error) {
	if !isFieldName(c.Field) || len(c.Values) == 0 {
		return "", unsupportedConstruct(t, solrName, "filter field "+strconv.Quote(c.Field))
	}
	quote := func(v string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	if len(c.Values) == 1 {
		return c.Field + ":" + quote(c.Values[0]), nil
	}
	vs := make([]string, len(c.Values))
	for i, v := range c.Values {
		vs[i] = quote(v)
	}
	return c.Field + ":(" + strings.Join(vs, " OR ") + ")", nil
}

// solrPassThrough forwards a Solr client's request with only the window
// rewritten (and wt=json, which the decoder needs).
func solrPassThrough(q *Query, t Target, path string, limit int, extra url.Values) (*Request, error) {
	p := url.Values{}
	for k, v := range q.Params {
		p[k] = append([]string(nil), v...)
	}
	fillParams(p, extra)
	p.Set("wt", "json")
	if len(q.Body) == 0 {
		p.Set("start", strconv.Itoa(t.Offset))
		p.Set("rows", strconv.Itoa(limit))
		if q.Method == http.MethodPost {
			return &Request{Method: http.MethodPost, Path: path, Body: []byte(p.Encode()), ContentType: "application/x-www-form-urlencoded"}, nil
		}
		return &Request{Method: http.MethodGet, Path: path, RawQuery: p.Encode()}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(q.Body, &m); err != nil {
		return nil, solrError("bad_request", "The JSON request body could not be parsed: "+err.Error())
	}
	p.Del("start")
	p.Del("rows")
	m["offset"] = json.RawMessage(strconv.Itoa(t.Offset))
	m["limit"] = json.RawMessage(strconv.Itoa(limit))
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodPost, Path: path, RawQuery: p.Encode(), Body: b, ContentType: "application/json"}, nil
}

// solrAnswer is the part of a select answer that is decoded; docs stay raw.
type solrAnswer struct {
	ResponseHeader struct {
		Status         int  `json:"status"`
		PartialResults bool `json:"partialResults"`
	} `json:"responseHeader"`
	Response *struct {
		NumFound      *int64          `json:"numFound"`
		NumFoundExact *bool           `json:"numFoundExact"`
		Docs          json.RawMessage `json:"docs"`
	} `json:"response"`
	FacetCounts struct {
		FacetFields map[string]json.RawMessage `json:"facet_fields"`
	} `json:"facet_counts"`
	Facets map[string]json.RawMessage `json:"facets"`
	Error  json.RawMessage            `json:"error"`
}

func (solr) DecodeResponse(body []byte, idField string) (merge.List, error) {
	var a solrAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return merge.List{}, errInvalid(solrName, err)
	}
	if a.Error != nil || a.ResponseHeader.Status != 0 {
		return merge.List{}, errInvalidMsg(solrName, "the answer reports an error (status "+strconv.Itoa(a.ResponseHeader.Status)+")")
	}
	if a.Response == nil || a.Response.NumFound == nil || a.Response.Docs == nil {
		return merge.List{}, errInvalidMsg(solrName, "no response.numFound and response.docs")
	}
	if idField == "" {
		idField = "id"
	}
	l := merge.List{Total: *a.Response.NumFound}
	if (a.Response.NumFoundExact != nil && !*a.Response.NumFoundExact) || a.ResponseHeader.PartialResults {
		l.TotalRelation = merge.Gte
	}
	var bad error
	err := eachElement(a.Response.Docs, func(d []byte) bool {
		if !isObject(d) {
			bad = errInvalidMsg(solrName, "a doc is not an object")
			return false
		}
		h := merge.Hit{Doc: d, Native: d}
		if v, ok := lookupPath(d, idField); ok {
			h.ID = solrID(v)
		}
		if v, ok := member(d, "score"); ok {
			h.Score, h.Scored = rawFloat(v)
		}
		l.Hits = append(l.Hits, h)
		return true
	})
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(solrName, err)
	}
	if err := decodeSolrFacets(&l, a.FacetCounts.FacetFields, a.Facets); err != nil {
		return merge.List{}, err
	}
	return l, nil
}

// solrID reads a unique key; a multi-valued field gives its first value.
func solrID(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var first []byte
		_ = eachElement(v, func(e []byte) bool { first = e; return false })
		return scalarString(first)
	}
	return scalarString(v)
}

// decodeSolrFacets reads facet_counts.facet_fields (json.nl=flat pairs or
// json.nl=map objects) and JSON facet API terms buckets.
func decodeSolrFacets(l *merge.List, fields, jsonFacets map[string]json.RawMessage) error {
	add := func(name, value string, n int64) {
		if l.Facets == nil {
			l.Facets = map[string]map[string]int64{}
		}
		if l.Facets[name] == nil {
			l.Facets[name] = map[string]int64{}
		}
		l.Facets[name][value] += n
	}
	for name, raw := range fields {
		n, err := decodeSolrFacetField(raw, func(v string, c int64) { add(name, v, c) })
		if err != nil {
			return errInvalidMsg(solrName, "facet_fields."+name+": "+err.Error())
		}
		if n >= solrFacetLimit {
			l.FacetsTruncated = true
		}
	}
	for name, raw := range jsonFacets {
		if name == "count" || !isObject(raw) {
			continue
		}
		var f struct {
			Buckets []struct {
				Val   json.RawMessage `json:"val"`
				Count int64           `json:"count"`
			} `json:"buckets"`
		}
		if json.Unmarshal(raw, &f) != nil {
			return errInvalidMsg(solrName, "facets."+name+" is not a terms facet")
		}
		for _, b := range f.Buckets {
			add(name, scalarString(b.Val), b.Count)
		}
		if len(f.Buckets) >= solrFacetLimit {
			l.FacetsTruncated = true
		}
	}
	return nil
}

// decodeSolrFacetField reads one field's counts and returns how many values
// it held. facet.missing's null value is skipped.
func decodeSolrFacetField(raw []byte, add func(string, int64)) (int, error) {
	if isObject(raw) {
		var m map[string]int64
		if err := json.Unmarshal(raw, &m); err != nil {
			return 0, err
		}
		for v, c := range m {
			add(v, c)
		}
		return len(m), nil
	}
	var flat []json.RawMessage
	if err := json.Unmarshal(raw, &flat); err != nil {
		return 0, err
	}
	if len(flat)%2 != 0 {
		return 0, errBadJSON
	}
	for i := 0; i < len(flat); i += 2 {
		var c int64
		if err := json.Unmarshal(flat[i+1], &c); err != nil {
			return 0, err
		}
		if string(flat[i]) == "null" {
			continue
		}
		add(scalarString(flat[i]), c)
	}
	return len(flat) / 2, nil
}

func (solr) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	r := &res.Result
	b := make([]byte, 0, 1024+512*len(r.Hits))
	b = append(b, `{"responseHeader":{"status":0,"QTime":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	if !res.Complete {
		b = append(b, `,"partialResults":true`...)
	}
	b = append(b, `,"params":`...)
	b = appendSolrParams(b, q.Params)
	b = append(b, `},"response":{"numFound":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, int64(q.Offset), 10)
	if len(r.Hits) > 0 {
		b = append(b, `,"maxScore":`...)
		b = appendFloat(b, r.Hits[0].Score)
	}
	b = append(b, `,"numFoundExact":`...)
	b = strconv.AppendBool(b, r.TotalRelation != merge.Gte)
	b = append(b, `,"docs":[`...)
	for i := range r.Hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDoc(b, r.Hits[i].Doc)
	}
	b = append(b, "]}"...)
	if names := solrJSONFacetNames(q); names != nil {
		b = appendSolrJSONFacets(b, r, names)
	} else if len(q.Facets) > 0 {
		b = appendSolrFacetCounts(b, askedFacets(q, r.Facets))
	}
	if q.Explain {
		b = append(b, `,"debug":{"explain":{`...)
		for i := range r.Hits {
			if i > 0 {
				b = append(b, ',')
			}
			h := &r.Hits[i]
			b = appendString(b, h.ID)
			b = append(b, `:{"match":true,"value":`...)
			b = appendFloat(b, h.Score)
			b = append(b, `,"description":"federated fusion of shard ranks","details":`...)
			b = appendSources(b, h.Sources)
			b = append(b, '}')
		}
		b = append(b, "}}"...)
	}
	b = append(b, `,"shards.info":`...)
	b = appendSolrShardsInfo(b, res.Shards)
	return append(b, '}'), nil
}

// appendDoc appends a raw document, or {} when there is none.
func appendDoc(b, doc []byte) []byte {
	if len(bytes.TrimSpace(doc)) == 0 {
		return append(b, "{}"...)
	}
	return append(b, doc...)
}

// appendSolrParams echoes the request parameters as Solr does with
// echoParams=explicit: a string, or an array when repeated.
func appendSolrParams(b []byte, p url.Values) []byte {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if vs := p[k]; len(vs) == 1 {
			b = appendString(b, vs[0])
		} else {
			b = appendStrings(b, vs)
		}
	}
	return append(b, '}')
}

// appendSolrFacetCounts writes facet_counts with json.nl=flat pairs.
func appendSolrFacetCounts(b []byte, fs []merge.Facet) []byte {
	b = append(b, `,"facet_counts":{"facet_queries":{},"facet_fields":{`...)
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ":["...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v.Value)
			b = append(b, ',')
			b = strconv.AppendInt(b, v.Count, 10)
		}
		b = append(b, ']')
	}
	return append(b, `},"facet_ranges":{},"facet_intervals":{},"facet_heatmaps":{}}`...)
}

// solrJSONFacetNames maps field → JSON facet name when the client used the
// JSON Facet API; nil otherwise.
func solrJSONFacetNames(q *Query) map[string]string {
	if len(q.Body) == 0 {
		return nil
	}
	var j solrJSONRequest
	if json.Unmarshal(q.Body, &j) != nil || len(j.Facet) == 0 {
		return nil
	}
	names := map[string]string{}
	for name, raw := range j.Facet {
		if field, ok := solrTermsFacet(raw); ok {
			names[field] = name
		}
	}
	return names
}

// appendSolrJSONFacets writes the JSON Facet API's "facets" section.
func appendSolrJSONFacets(b []byte, r *merge.Result, names map[string]string) []byte {
	b = append(b, `,"facets":{"count":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	for _, f := range r.Facets {
		name, ok := names[f.Name]
		if !ok {
			continue
		}
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, `:{"buckets":[`...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"val":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// appendSolrShardsInfo writes shards.info keyed by shard name. Solr's
// numFound/maxScore per shard are not known after the merge and are left
// out; failed shards get error and a one-line trace with federate's status.
func appendSolrShardsInfo(b []byte, rs []ShardReport) []byte {
	b = append(b, '{')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, `:{"time":`...)
		b = strconv.AppendInt(b, tookMillis(r.Took), 10)
		if r.Replica != "" {
			b = append(b, `,"shardAddress":`...)
			b = appendString(b, r.Replica)
		}
		if r.Status != StatusOK {
			b = append(b, `,"error":`...)
			b = appendString(b, shardReason(r))
			trace := "federate: status=" + string(r.Status)
			if r.HTTPStatus != 0 {
				trace += " upstream_status=" + strconv.Itoa(r.HTTPStatus)
			}
			b = append(b, `,"trace":`...)
			b = appendString(b, trace)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (solr) EncodeError(e *Error) []byte {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	b := make([]byte, 0, 256+len(e.Message))
	b = append(b, `{"responseHeader":{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"QTime":0},"error":{"metadata":["error-class","org.apache.solr.common.SolrException","root-error-class","org.apache.solr.common.SolrException"`...)
	if e.Code != "" {
		b = append(b, `,"federate-code",`...)
		b = appendString(b, e.Code)
	}
	b = append(b, `],"msg":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, "}}"...)
}

package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

func (s solr) BuildRequest(q *Query, t Target) (*Request, error) {
	index := targetIndex(q, t)
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
	if err := enforceParams(p, extra, "fq", nil); err != nil {
		return nil, err
	}
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
	if len(c.Values) == 1 {
		return c.Field + ":" + quoteEscaped(c.Values[0]), nil
	}
	vs := make([]string, len(c.Values))
	for i, v := range c.Values {
		vs[i] = quoteEscaped(v)
	}
	return c.Field + ":(" + strings.Join(vs, " OR ") + ")", nil
}

// solrPassThrough forwards a Solr client's request with only the window
// rewritten (and wt=json, which the decoder needs).
func solrPassThrough(q *Query, t Target, path string, limit int, extra url.Values) (*Request, error) {
	p := cloneParams(q.Params)
	if err := checkSolrParams(p, q.Body); err != nil {
		return nil, err
	}
	if err := enforceParams(p, extra, "fq", nil); err != nil {
		return nil, err
	}
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
func (solr) DecodeResponse(body []byte, idField string) (merge.List, error) {
	if idField == "" {
		idField = "id"
	}
	var l merge.List
	var bad error
	var numFound, numFoundExact []byte
	hasResponse, hasDocs := false, false
	docs := hitsWalker(&l, &bad, func(d []byte) (merge.Hit, error) {
		if !isObject(d) {
			return merge.Hit{}, errInvalidMsg(solrName, "a doc is not an object")
		}
		h := merge.Hit{Doc: d, Native: d}
		if v, ok := lookupPath(d, idField); ok {
			h.ID = solrID(v)
		}
		if v, ok := member(d, "score"); ok {
			h.Score, h.Scored = rawFloat(v)
		}
		return h, nil
	})
	// response is {"numFound": …, "numFoundExact": …, "docs": [ … ]}:
	// validated and read in the same walk (the first of each member counts).
	response := func(b []byte, i int) (int, error) {
		if i >= len(b) || b[i] != '{' {
			return validValue(b, i)
		}
		hasResponse = true
		var sawN, sawE, sawD bool
		return walkObject(b, i, func(k []byte, _, vs int) (int, error) {
			if string(k) == "docs" && !sawD {
				sawD = true
				if vs < len(b) && b[vs] == '[' {
					hasDocs = true
					return docs(b, vs)
				}
			}
			end, err := validValue(b, vs)
			if err != nil {
				return 0, err
			}
			switch {
			case string(k) == "numFound" && !sawN:
				sawN, numFound = true, b[vs:end]
			case string(k) == "numFoundExact" && !sawE:
				sawE, numFoundExact = true, b[vs:end]
			}
			return end, nil
		})
	}
	top, err := topMembers(body, response, "response", "responseHeader", "error", "facet_counts", "facets", "highlighting")
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(solrName, err)
	}
	var header struct {
		Status         int  `json:"status"`
		PartialResults bool `json:"partialResults"`
	}
	var facetCountsField struct {
		FacetFields map[string]json.RawMessage `json:"facet_fields"`
	}
	var jsonFacets map[string]json.RawMessage
	var highlighting map[string]map[string][]string
	for _, m := range []struct {
		raw []byte
		dst any
	}{{top[1], &header}, {top[3], &facetCountsField}, {top[4], &jsonFacets}, {top[5], &highlighting}} {
		if len(m.raw) > 0 {
			if err := json.Unmarshal(m.raw, m.dst); err != nil {
				return merge.List{}, errInvalid(solrName, err)
			}
		}
	}
	if top[2] != nil || header.Status != 0 {
		return merge.List{}, errInvalidMsg(solrName, "the answer reports an error (status "+strconv.Itoa(header.Status)+")")
	}
	total, hasTotal, err := rawInt(numFound)
	if err != nil {
		return merge.List{}, errInvalid(solrName, err)
	}
	if !hasResponse || !hasTotal || !hasDocs {
		return merge.List{}, errInvalidMsg(solrName, "no response.numFound and response.docs")
	}
	l.Total = total
	exact := true
	if len(numFoundExact) > 0 && string(numFoundExact) != "null" {
		var ok bool
		if exact, ok = rawBool(numFoundExact); !ok {
			return merge.List{}, errInvalidMsg(solrName, "response.numFoundExact is not a boolean")
		}
	}
	if !exact || header.PartialResults {
		l.TotalRelation = merge.Gte
	}
	if err := decodeSolrFacets(&l, facetCountsField.FacetFields, jsonFacets); err != nil {
		return merge.List{}, err
	}
	attachSolrHighlights(&l, highlighting)
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
	add := func(name, value string, n int64) { facetCounts(l, name, 0)[value] += n }
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

// solrReachParams are Solr request parameters that make Solr reach beyond
// the shard's own core: other hosts (shards, stream.url), the server's files
// (stream.file), other collections (collection, _route_) or another request
// handler (qt). A client of a federation never names those; an operator
// who wants one pins it in the shard's index string.
var solrReachParams = []string{"shards", "shards.qt", "stream.url", "stream.file", "stream.body", "collection", "_route_", "qt"}

// checkSolrParams refuses a pass-through that carries a solrReachParams
// parameter, in the URL or in a JSON body's params.
func checkSolrParams(p url.Values, body []byte) error {
	var inBody struct {
		Params map[string]json.RawMessage `json:"params"`
	}
	if len(body) > 0 {
		_ = json.Unmarshal(body, &inBody) // a bad body is reported where it is parsed
	}
	for _, k := range solrReachParams {
		_, inB := inBody.Params[k]
		if p.Has(k) || inB {
			return solrError("bad_request", "The parameter "+strconv.Quote(k)+" is not accepted through this federation: it reaches beyond the shard's own core.")
		}
	}
	return nil
}

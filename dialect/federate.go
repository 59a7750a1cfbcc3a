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

// federate is the project's canonical dialect: the Query fields as JSON, and
// an answer that carries the whole partial-result contract. Clients call
// GET ?q=&offset=&limit=&facets=a,b&fields=a,b&explain=true or POST a JSON
// body; shards (another caddy-federate, or any service speaking it) are asked
// POST {index}/search, where index is a path prefix.
//
// Requests are decoded strictly (unknown members are a 400), since nothing in
// this dialect is passed through as raw.
type federate struct{}

func init() { register(federate{}) }

const federateName = "federate"

func (federate) Name() string      { return federateName }
func (federate) DefaultLimit() int { return 10 }

func federateError(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request", Message: msg}
}

// federateBody is the POST request body, and the body of shard requests.
type federateBody struct {
	Q       string                     `json:"q,omitempty"`
	Offset  *int                       `json:"offset,omitempty"`
	Limit   *int                       `json:"limit,omitempty"`
	Filter  map[string]json.RawMessage `json:"filter,omitempty"`
	Facets  []string                   `json:"facets,omitempty"`
	Fields  []string                   `json:"fields,omitempty"`
	Explain bool                       `json:"explain,omitempty"`
}

func (f federate) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	p := r.URL.Query()
	q := &Query{Dialect: federateName, Method: r.Method, Params: p}
	if body = bytes.TrimSpace(body); len(body) > 0 && r.Method != http.MethodGet {
		q.Body = body
		return q, decodeFederateBody(q, body)
	}
	q.Text = p.Get("q")
	for _, w := range []struct {
		key string
		dst *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if !p.Has(w.key) {
			continue
		}
		n, ok := parseCount(p.Get(w.key))
		if !ok {
			return nil, federateError("parameter " + w.key + " must be a non-negative integer")
		}
		*w.dst = n
	}
	q.HasLimit = p.Has("limit")
	q.Facets = splitList(p.Get("facets"))
	if p.Has("fields") {
		q.Fields = splitList(p.Get("fields"))
		if q.Fields == nil {
			q.Fields = []string{}
		}
	}
	switch v := p.Get("explain"); v {
	case "", "false":
	case "true":
		q.Explain = true
	default:
		return nil, federateError("parameter explain must be true or false")
	}
	return q, nil
}

func decodeFederateBody(q *Query, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b federateBody
	if err := dec.Decode(&b); err != nil {
		return federateError("invalid request body: " + err.Error())
	}
	if dec.More() {
		return federateError("invalid request body: trailing data after the JSON object")
	}
	q.Text, q.Facets, q.Fields, q.Explain = b.Q, b.Facets, b.Fields, b.Explain
	if b.Offset != nil {
		if *b.Offset < 0 {
			return federateError("offset must be a non-negative integer")
		}
		q.Offset = *b.Offset
	}
	if b.Limit != nil {
		if *b.Limit < 0 {
			return federateError("limit must be a non-negative integer")
		}
		q.Limit, q.HasLimit = *b.Limit, true
	}
	if len(b.Filter) == 0 {
		return nil
	}
	fields := make([]string, 0, len(b.Filter))
	for k := range b.Filter {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	q.Filter = &Filter{}
	for _, k := range fields {
		c := Clause{Field: k}
		raw := bytes.TrimSpace(b.Filter[k])
		if len(raw) > 0 && raw[0] == '[' {
			var elems []json.RawMessage
			if json.Unmarshal(raw, &elems) != nil {
				return federateError("filter." + k + " must be a value or an array of values")
			}
			for _, e := range elems {
				s, ok := esScalar(e)
				if !ok {
					return federateError("filter." + k + " values must be strings, numbers or booleans")
				}
				c.Values = append(c.Values, s)
			}
		} else {
			s, ok := esScalar(raw)
			if !ok {
				return federateError("filter." + k + " must be a string, number, boolean or an array of them")
			}
			c.Values = []string{s}
		}
		if len(c.Values) == 0 {
			return federateError("filter." + k + " has no values")
		}
		q.Filter.And = append(q.Filter.And, c)
	}
	return nil
}

func (f federate) BuildRequest(q *Query, t Target) (*Request, error) {
	if q.RawFilter {
		return nil, unsupportedFilter(q, t, federateName)
	}
	index := targetIndex(q, t)
	path := "/search"
	if segs := pathSegments(index); len(segs) > 0 {
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		path = "/" + strings.Join(segs, "/") + "/search"
	}
	off, limit := t.Offset, windowLimit(t, f.DefaultLimit())
	b := federateBody{Q: q.Text, Offset: &off, Limit: &limit, Facets: q.Facets, Fields: q.Fields}
	if q.Filter != nil && len(q.Filter.And) > 0 {
		b.Filter = map[string]json.RawMessage{}
		for _, c := range q.Filter.And {
			var v []byte
			if len(c.Values) == 1 {
				v = appendString(nil, c.Values[0])
			} else {
				v = appendStrings(nil, c.Values)
			}
			if prev, ok := b.Filter[c.Field]; ok {
				// Two clauses on one field: both must hold; a JSON object
				// cannot say so, and "f IN a AND f IN b" is "f IN a∩b".
				v = intersectFederate(prev, c.Values)
			}
			b.Filter[c.Field] = v
		}
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodPost, Path: path, Body: body, ContentType: "application/json"}, nil
}

// intersectFederate keeps the values of prev that are also in vals.
func intersectFederate(prev json.RawMessage, vals []string) []byte {
	var old []string
	if s, ok := rawStrings(prev); ok {
		old = s
	}
	keep := []string{}
	for _, o := range old {
		for _, v := range vals {
			if o == v {
				keep = append(keep, o)
				break
			}
		}
	}
	return appendStrings(nil, keep)
}

// federateFacets is the decoded facets member of a federate answer.
type federateFacets map[string]struct {
	Values []struct {
		Value string `json:"value"`
		Count int64  `json:"count"`
	} `json:"values"`
	Exact bool `json:"exact"`
}

func (federate) DecodeResponse(body []byte, idField string) (merge.List, error) {
	top, err := topMembers(body, "hits", "total", "total_relation", "complete", "facets")
	if err != nil {
		return merge.List{}, errInvalid(federateName, err)
	}
	if !isArray(top[0]) {
		return merge.List{}, errInvalidMsg(federateName, "no hits array")
	}
	var l merge.List
	var bad error
	err = eachElement(top[0], func(h []byte) bool {
		var id, score, doc []byte
		if err := eachMemberRaw(h, func(k, v []byte, _, _ int) bool {
			switch string(k) {
			case "id":
				id = v
			case "score":
				score = v
			case "doc":
				doc = v
			}
			return true
		}); err != nil {
			bad = errInvalidMsg(federateName, "a hit is not an object")
			return false
		}
		hit := merge.Hit{Native: h, Doc: doc}
		if !isObject(doc) {
			hit.Doc = emptyObject
		}
		if idField == "" || idField == "id" {
			hit.ID = scalarString(id)
		} else if v, ok := lookupPath(hit.Doc, idField); ok {
			hit.ID = scalarString(v)
		}
		hit.Score, hit.Scored = rawFloat(score)
		l.Hits = append(l.Hits, hit)
		return true
	})
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(federateName, err)
	}
	total, hasTotal, err := rawInt(top[1])
	if err != nil {
		return merge.List{}, errInvalid(federateName, err)
	}
	l.Total = total
	if !hasTotal {
		l.Total, l.TotalRelation = int64(len(l.Hits)), merge.Gte
	}
	if scalarString(top[2]) == string(merge.Gte) {
		l.TotalRelation = merge.Gte
	}
	if complete, ok := rawBool(top[3]); ok && !complete {
		l.TotalRelation = merge.Gte
	}
	if len(top[4]) > 0 && string(top[4]) != "null" {
		var facets federateFacets
		if err := json.Unmarshal(top[4], &facets); err != nil {
			return merge.List{}, errInvalid(federateName, err)
		}
		for name, f := range facets {
			if l.Facets == nil {
				l.Facets = map[string]map[string]int64{}
			}
			vals := make(map[string]int64, len(f.Values))
			for _, v := range f.Values {
				vals[v.Value] += v.Count
			}
			l.Facets[name] = vals
			if !f.Exact {
				l.FacetsTruncated = true
			}
		}
	}
	return l, nil
}

func (f federate) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	b := make([]byte, 0, 512+len(res.Result.Hits)*512)
	b = append(b, `{"hits":[`...)
	for i := range res.Result.Hits {
		h := &res.Result.Hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, h.ID)
		b = append(b, `,"score":`...)
		b = appendFloat(b, h.Score)
		b = append(b, `,"shard":`...)
		b = appendString(b, h.Shard)
		b = append(b, `,"rank":`...)
		b = strconv.AppendInt(b, int64(h.Rank), 10)
		b = append(b, `,"doc":`...)
		if isObject(h.Doc) {
			b = append(b, h.Doc...)
		} else {
			b = append(b, emptyObject...)
		}
		if q.Explain {
			b = append(b, `,"sources":`...)
			b = appendSources(b, h.Sources)
		}
		b = append(b, '}')
	}
	rel := res.Result.TotalRelation
	if rel == "" {
		rel = merge.Eq
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, res.Result.Total, 10)
	b = append(b, `,"total_relation":`...)
	b = appendString(b, string(rel))
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(q.Offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(clientLimit(q, f.DefaultLimit())), 10)
	b = appendFederateFacets(b, res.Result.Facets)
	b = appendFederateShards(b, res.Shards)
	b = append(b, `,"complete":`...)
	b = strconv.AppendBool(b, res.Complete)
	b = append(b, `,"took_ms":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	return append(b, '}'), nil
}

func appendFederateFacets(b []byte, facets []merge.Facet) []byte {
	b = append(b, `,"facets":{`...)
	for i, f := range facets {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, `:{"values":[`...)
		for j, v := range f.Values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, '}')
		}
		b = append(b, `],"exact":`...)
		b = strconv.AppendBool(b, f.Exact)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendFederateShards(b []byte, shards []ShardReport) []byte {
	b = append(b, `,"shards":{`...)
	for i, r := range shards {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, `:{`...)
		b = AppendShardStatus(b, r)
		b = append(b, '}')
	}
	return append(b, '}')
}

func (federate) EncodeError(e *Error) []byte {
	code := e.Code
	if code == "" {
		code = meiliCodeFor(e.Status)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	b := make([]byte, 0, 64+len(e.Message))
	b = append(b, `{"error":{"code":`...)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, '}')
}

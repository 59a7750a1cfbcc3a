package dialect

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Elasticsearch endpoints beside _search
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/rest-apis.html):
// GET / (cluster info; HEAD / is the clients' ping), _count and _msearch,
// with or without an index in the path. Any other endpoint is answered as
// Elasticsearch answers an unknown URI: 400 "no handler found for uri".

// esEndpoint reports whether seg names an endpoint served under an index.
func esEndpoint(seg string) bool {
	return seg == "_search" || seg == "_count" || seg == "_msearch"
}

// Route serves _search, _count, _msearch (GET or POST, under an index or
// not) and GET|HEAD /.
func (esDialect) Route(method, path string) Endpoint {
	segs := lastSegments(path, 2)
	switch {
	case len(segs) == 0:
		e := allowOp(OpInfo, method, http.MethodGet, http.MethodHead)
		e.Name = "root"
		return e
	case segs[len(segs)-1] == "_search":
		return allowSearch(method, http.MethodGet, http.MethodHead, http.MethodPost)
	case segs[len(segs)-1] == "_count":
		return allowOp(OpCount, method, http.MethodGet, http.MethodPost)
	case segs[len(segs)-1] == "_msearch":
		return allowOp(OpMultiSearch, method, http.MethodGet, http.MethodPost)
	}
	return Endpoint{Op: OpNotFound}
}

// esVersions are the versions GET / reports, by the major version a client
// asks compatibility with; the official clients check the major and that
// it is at least 7.14.
var esVersions = map[string]string{"7": "7.17.29", "8": "8.19.0", "9": "9.1.0"}

// esCompat returns the major version of a compatible-with media type in
// Accept or Content-Type ("" when there is none).
func esCompat(h http.Header) string {
	for _, k := range []string{"Accept", "Content-Type"} {
		v := h.Get(k)
		if i := strings.Index(v, "compatible-with="); i >= 0 {
			v = v[i+len("compatible-with="):]
			if j := strings.IndexAny(v, ",; "); j >= 0 {
				v = v[:j]
			}
			return v
		}
	}
	return ""
}

// Info answers GET / with the cluster info document the clients read on
// connect: a version they accept and Elasticsearch's tagline.
func (d esDialect) Info(_ Endpoint, r *http.Request) (int, []byte) {
	version, flavor := esVersions["8"], "default"
	if v, ok := esVersions[esCompat(r.Header)]; ok {
		version = v
	}
	if d.name != esName {
		version, flavor = "2.19.0", "opensearch"
	}
	b := []byte(`{"name":"federate","cluster_name":"federate","cluster_uuid":"federate","version":{"number":`)
	b = appendString(b, version)
	if d.name != esName {
		b = append(b, `,"distribution":"opensearch"`...)
	}
	b = append(b, `,"build_flavor":`...)
	b = appendString(b, flavor)
	b = append(b, `,"build_type":"federate","build_hash":"federate","build_date":"2025-01-01T00:00:00.000Z","build_snapshot":false,"lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0","minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}`...)
	return http.StatusOK, b
}

// SetHeaders marks Elasticsearch answers as Elasticsearch's (the official
// clients refuse answers without X-Elastic-Product) and answers a client
// that asked for a compatible-with media type in that media type.
func (d esDialect) SetHeaders(req *http.Request, resp http.Header) {
	if d.name != esName {
		return
	}
	resp.Set("X-Elastic-Product", "Elasticsearch")
	if v := esCompat(req.Header); v != "" {
		resp.Set("Content-Type", "application/vnd.elasticsearch+json;compatible-with="+v)
	}
}

// NotServed answers as Elasticsearch does: an unknown URI is a 400 "no
// handler found", a known one with a wrong method a 405 that lists the
// allowed methods.
func (esDialect) NotServed(e Endpoint, method, path string) (int, []byte) {
	status, msg := http.StatusBadRequest, "no handler found for uri ["+path+"] and method ["+method+"]"
	if e.Op == OpMethodNotAllowed {
		status = http.StatusMethodNotAllowed
		msg = "Incorrect HTTP method for uri [" + path + "] and method [" + method + "], allowed: [" + strings.Join(e.Allow, ", ") + "]"
	}
	b := appendString([]byte(`{"error":`), msg)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return status, append(b, '}')
}

// encodeESCount writes a _count answer: {"count", "_shards"}.
func encodeESCount(res *Response) []byte {
	sh, _, _ := countESShards(res.Shards)
	b := append(make([]byte, 0, 128), `{"count":`...)
	b = strconv.AppendInt(b, res.Result.Total, 10)
	b = appendESShards(b, sh, res.Shards)
	return append(b, '}')
}

// DecodeMulti reads an _msearch body: NDJSON, a header line ({"index": ...}
// or {}) then a search body line, per search. A line that is not a JSON
// object fails the request, as in Elasticsearch; a search Elasticsearch
// would reject on its own (a bad size, an aggregation federate cannot
// merge) is reported in its place in responses[].
func (d esDialect) DecodeMulti(r *http.Request, body []byte) (*Multi, error) {
	defIndex := esIndex(r.URL.Path)
	m := &Multi{}
	lines := bytes.Split(body, []byte{'\n'})
	for len(lines) > 0 && len(bytes.TrimSpace(lines[len(lines)-1])) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil, esIllegal("msearch request must contain at least one search; send NDJSON: a header line, then a body line, per search")
	}
	for i := 0; i < len(lines); i += 2 {
		n := i/2 + 1
		head, ok := rawObject(bytes.TrimSpace(lines[i]))
		if !ok {
			return nil, esParsing("msearch search " + strconv.Itoa(n) + ": the header line is not a JSON object")
		}
		index := defIndex
		if v, ok := head["index"]; ok {
			idx, ok := esHeaderIndex(v)
			if !ok {
				return nil, esParsing("msearch search " + strconv.Itoa(n) + ": [index] must be a string or an array of strings")
			}
			index = idx
		}
		var src []byte
		if i+1 < len(lines) {
			src = bytes.TrimSpace(lines[i+1])
		}
		if len(src) > 0 && src[0] != '{' {
			return nil, esParsing("msearch search " + strconv.Itoa(n) + ": the body line is not a JSON object")
		}
		q, err := d.decodeSearch(http.MethodPost, index, url.Values{}, src)
		if err != nil {
			m.Queries = append(m.Queries, nil)
			m.Errs = append(m.Errs, errorOf(err))
			continue
		}
		m.Queries = append(m.Queries, q)
		m.Errs = append(m.Errs, nil)
	}
	return m, nil
}

// esHeaderIndex reads an msearch header's index: a string or a list of
// strings (joined with commas, as in a path).
func esHeaderIndex(raw []byte) (string, bool) {
	if ss, ok := rawStrings(raw); ok {
		return strings.Join(ss, ","), true
	}
	return "", false
}

// EncodeMulti writes {"took", "responses": [...]}: each search's answer with
// its "status", or its error ({"error": {...}, "status"}) in its place.
func (d esDialect) EncodeMulti(m *Multi, res []*Response, errs []*Error) ([]byte, error) {
	b := append(make([]byte, 0, 4096), `{"took":`...)
	var took int64
	for _, r := range res {
		if r != nil {
			took = max(took, tookMillis(r.Took))
		}
	}
	b = strconv.AppendInt(b, took, 10)
	b = append(b, `,"responses":[`...)
	for i, q := range m.Queries {
		if i > 0 {
			b = append(b, ',')
		}
		if q != nil && res[i] != nil {
			one, err := d.EncodeResponse(q, res[i])
			if err != nil {
				return nil, err
			}
			b = append(b, one[:len(one)-1]...)
			b = append(b, `,"status":200}`...)
			continue
		}
		e := errs[i]
		if e == nil {
			e = &Error{Status: http.StatusInternalServerError, Message: "the search was not run"}
		}
		b = append(b, d.EncodeError(e)...)
	}
	return append(b, "]}"...), nil
}

// EncodeFused is never called: _msearch answers search by search.
func (d esDialect) EncodeFused(*Multi, *Fused) ([]byte, error) {
	return nil, esIllegal("msearch answers each search on its own")
}

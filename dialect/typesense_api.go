package dialect

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Typesense endpoints beside search
// (https://typesense.org/docs/30.0/api/federated-multi-search.html):
// POST /multi_search, answered search by search ({"results":[...]}) or,
// with "union": true, as one list whose hits carry search_index; GET
// /health. Any other path is Typesense's {"message": "Not Found"}.

// DecodeMulti reads {"searches":[{collection, q, ...}], "union": bool}; URL
// parameters are defaults for every search, as in Typesense. A search whose
// parameters are wrong is reported in its place, as Typesense does, except
// in a union, which fails as a whole.
func (typesense) DecodeMulti(r *http.Request, body []byte) (*Multi, error) {
	common := r.URL.Query()
	var m struct {
		Searches []map[string]json.RawMessage `json:"searches"`
		Union    bool                         `json:"union"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, tsError(http.StatusBadRequest, "Bad JSON.")
	}
	if len(m.Searches) == 0 {
		return nil, tsError(http.StatusBadRequest, "Missing `searches` array.")
	}
	out := &Multi{Queries: make([]*Query, len(m.Searches)), Errs: make([]*Error, len(m.Searches)), Fused: m.Union}
	for i, s := range m.Searches {
		q, err := decodeTSSearch(common, s, r.Method)
		if err != nil {
			if m.Union {
				return nil, tsError(http.StatusBadRequest, "Search "+strconv.Itoa(i)+": "+err.Message)
			}
			out.Errs[i] = err
			continue
		}
		out.Queries[i] = q
	}
	if m.Union {
		// The union's page is asked with the common parameters.
		w, p := &Query{}, cloneParams(common)
		p.Set("q", "*")
		if err := decodeTSParams(w, p); err != nil {
			return nil, err
		}
		out.Offset, out.Limit, out.HasLimit = w.Offset, w.Limit, w.HasLimit
	}
	return out, nil
}

// decodeTSSearch reads one search of a multi_search.
func decodeTSSearch(common url.Values, s map[string]json.RawMessage, method string) (*Query, *Error) {
	p := cloneParams(common)
	for k, raw := range s {
		v, ok := tsParamValue(raw)
		if !ok {
			return nil, tsError(http.StatusBadRequest, "Parameter `"+k+"` must be a string, number or boolean.")
		}
		p.Set(k, v)
	}
	q := &Query{Dialect: tsName, Method: method, Params: p, Index: p.Get("collection")}
	if err := decodeTSParams(q, p); err != nil {
		return nil, errorOf(err)
	}
	return q, nil
}

// EncodeMulti writes {"results":[...]}: each search's answer, or
// {"code", "error"} in its place.
func (typesense) EncodeMulti(m *Multi, res []*Response, errs []*Error) ([]byte, error) {
	b := append(make([]byte, 0, 4096), `{"results":[`...)
	for i, q := range m.Queries {
		if i > 0 {
			b = append(b, ',')
		}
		if q != nil && i < len(res) && res[i] != nil {
			b = appendTSResult(b, q, res[i], nil)
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

// EncodeFused writes a union answer: one search answer whose hits carry the
// search they came from (search_index), and union_request_params, one per
// search.
func (typesense) EncodeFused(m *Multi, res *Fused) ([]byte, error) {
	q := &Query{Dialect: tsName, Offset: m.Offset, Limit: m.Limit, HasLimit: m.HasLimit}
	for _, s := range m.Queries {
		q.Facets = append(q.Facets, s.Facets...)
	}
	b := appendTSResult(make([]byte, 0, 1024+512*len(res.Result.Hits)), q, &res.Response, res.Positions)
	b = append(b[:len(b)-1], `,"union_request_params":[`...)
	limit := clientLimit(q, 10)
	for i, s := range m.Queries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendTSRequestParams(append(b, '{'), "collection", s.Index, s.Text, limit), '}')
	}
	return append(b, "]}"...), nil
}

// Route serves GET /collections/{c}/documents/search, POST /multi_search and
// GET /health.
func (typesense) Route(method, path string) Endpoint {
	segs := lastSegments(path, 4)
	n := len(segs)
	switch {
	case n >= 1 && segs[n-1] == "multi_search":
		return allowOp(OpMultiSearch, method, http.MethodPost)
	case n == 4 && segs[0] == "collections" && segs[2] == "documents" && segs[3] == "search":
		return allowSearch(method, http.MethodGet, http.MethodHead)
	case n >= 1 && segs[n-1] == "health":
		e := allowOp(OpInfo, method, http.MethodGet)
		e.Name = "health"
		return e
	}
	return Endpoint{Op: OpNotFound}
}

// Info answers GET /health as a healthy Typesense node does.
func (typesense) Info(Endpoint, *http.Request) (int, []byte) {
	return http.StatusOK, []byte(`{"ok":true}`)
}

// NotServed answers as Typesense does: {"message": "Not Found"} (404), and
// a message in the same shape for a wrong method (405).
func (typesense) NotServed(e Endpoint, method, path string) (int, []byte) {
	if e.Op == OpMethodNotAllowed {
		msg := method + " is not allowed on " + path + "; use " + strings.Join(e.Allow, " or ") + "."
		return http.StatusMethodNotAllowed, append(appendString([]byte(`{"message":`), msg), '}')
	}
	return http.StatusNotFound, []byte(`{"message":"Not Found"}`)
}

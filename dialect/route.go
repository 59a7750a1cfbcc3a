package dialect

import (
	"net/http"
	"strings"
)

// Op is what a client request asks of a route.
type Op uint8

// Operations a route tells apart. A route never answers an OpNotFound or
// OpMethodNotAllowed request as a search: nothing reaches the shards.
const (
	// OpNotFound: the engine has no such endpoint (or the route does not
	// serve it).
	OpNotFound Op = iota
	// OpMethodNotAllowed: the endpoint exists, not with this method.
	OpMethodNotAllowed
	// OpSearch: one search (DecodeRequest).
	OpSearch
	// OpCount: one search answered with its count only (Elasticsearch
	// _count); DecodeRequest sets Display.Count.
	OpCount
	// OpMultiSearch: several searches in one request (MultiSearcher).
	OpMultiSearch
	// OpInfo: answered by the route itself, without the shards (cluster
	// info, version, health).
	OpInfo
)

// Endpoint is a routed client request.
type Endpoint struct {
	Op Op
	// Name names an OpInfo endpoint for the dialect's Info ("root",
	// "version", "health", "index").
	Name string
	// Index is the index named by the path, if any.
	Index string
	// Allow lists the methods the endpoint takes (OpMethodNotAllowed).
	Allow []string
}

// Router is implemented by dialects that tell their engine's endpoints
// apart. A dialect without it serves every GET, HEAD and POST as a search
// and refuses other methods.
type Router interface {
	// Route says what method and path (relative to wherever the route is
	// mounted; the dialect matches the path's last segments) ask for.
	Route(method, path string) Endpoint
}

// Informer is implemented by dialects with OpInfo endpoints.
type Informer interface {
	// Info answers an OpInfo endpoint: status and body. The request's
	// headers are read for content negotiation only.
	Info(e Endpoint, r *http.Request) (int, []byte)
}

// notServer is implemented by dialects whose engine answers unknown
// endpoints in a shape other than its EncodeError.
type notServer interface {
	NotServed(e Endpoint, method, path string) (int, []byte)
}

// HeaderSetter is implemented by dialects whose answers carry headers of
// their engine (Elasticsearch's X-Elastic-Product, its versioned media
// type). SetHeaders is called before every answer, errors included.
type HeaderSetter interface {
	SetHeaders(req *http.Request, resp http.Header)
}

// Route routes a request in dialect d.
func Route(d Dialect, method, path string) Endpoint {
	if r, ok := d.(Router); ok {
		return r.Route(method, path)
	}
	return allowSearch(method, http.MethodGet, http.MethodHead, http.MethodPost)
}

// NotServed answers an endpoint d does not serve (OpNotFound or
// OpMethodNotAllowed), in d's error shape.
func NotServed(d Dialect, e Endpoint, method, path string) (int, []byte) {
	if r, ok := d.(notServer); ok {
		return r.NotServed(e, method, path)
	}
	err := &Error{Status: http.StatusNotFound, Code: "not_found", Type: "invalid_request",
		Message: method + " " + path + " is not an endpoint of this route."}
	if e.Op == OpMethodNotAllowed {
		err.Status, err.Code = http.StatusMethodNotAllowed, "method_not_allowed"
		err.Message = method + " is not allowed on " + path + "; use " + strings.Join(e.Allow, " or ") + "."
	}
	return err.Status, d.EncodeError(err)
}

// allowSearch is a search endpoint that takes methods allow.
func allowSearch(method string, allow ...string) Endpoint {
	return allowOp(OpSearch, method, allow...)
}

// allowOp is an endpoint of op that takes methods allow.
func allowOp(op Op, method string, allow ...string) Endpoint {
	for _, m := range allow {
		if m == method {
			return Endpoint{Op: op}
		}
	}
	return Endpoint{Op: OpMethodNotAllowed, Allow: allow}
}

// lastSegments returns the path's last n segments (fewer when the path is
// shorter), ignoring a trailing slash.
func lastSegments(path string, n int) []string {
	// Split out only the last n non-empty segments, into a slice of n: a
	// route is looked up on every request.
	start, k := len(path), 0
	for i := len(path); i > 0 && k < n; {
		for i > 0 && path[i-1] == '/' {
			i--
		}
		if i == 0 {
			break
		}
		j := strings.LastIndexByte(path[:i], '/') + 1
		start, k, i = j, k+1, j
	}
	return appendSplitNonEmpty(make([]string, 0, n), path[start:], '/')
}

// errorOf returns err as an *Error (a 400 when it is not one).
func errorOf(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request", Message: err.Error()}
}

// Info answers an OpInfo endpoint of d; a dialect without such endpoints
// answers not found.
func Info(d Dialect, e Endpoint, r *http.Request) (int, []byte) {
	if i, ok := d.(Informer); ok {
		return i.Info(e, r)
	}
	return NotServed(d, Endpoint{Op: OpNotFound}, r.Method, r.URL.Path)
}

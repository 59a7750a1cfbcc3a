package shardapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Doc is one document to index: its id and its JSON source.
type Doc struct {
	ID     string
	Source json.RawMessage
}

// Backend is the engine behind a shard server.
type Backend interface {
	// Search runs q. A *BadQuery error answers 400; any other, 500.
	Search(ctx context.Context, q *Query) (*Result, error)
	// Index adds or replaces docs; they are searchable when it returns.
	Index(ctx context.Context, docs []Doc) error
	// Count is the number of documents.
	Count(ctx context.Context) (int, error)
}

// BadQuery is a query the backend cannot run.
type BadQuery struct{ Reason string }

func (e *BadQuery) Error() string { return e.Reason }

// maxBody bounds every request body: bulk loads of the test corpus fit.
const maxBody = 256 << 20

// Server is the HTTP face of one shard.
type Server struct {
	index   string
	idField string
	engine  string
	b       Backend
	faults  faults
	log     requestLog
	writes  writeState
}

// NewServer serves backend b as index (ES) / uid (Meilisearch) name. idField
// names the document field that holds the id ("id" when empty). engine names
// the backend on GET /. gzip is whether answers are compressed for clients
// that accept it, as Elasticsearch does; f is the initial fault.
func NewServer(index, idField, engine string, b Backend, gzip bool, f Fault) *Server {
	if idField == "" {
		idField = "id"
	}
	s := &Server{index: index, idField: idField, engine: engine, b: b}
	s.faults.gzip = gzip
	s.faults.set(f)
	return s
}

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.health(`{"name":"%[1]s","cluster_name":"integration","version":{"number":"8.15.0","distribution":"%[1]s"},"tagline":"You Know, for Search"}`))
	m.HandleFunc("GET /health", s.health(`{"status":"available"}`))
	m.HandleFunc("GET /_cluster/health", s.health(`{"cluster_name":"integration","status":"green","number_of_nodes":1}`))
	m.HandleFunc("GET /{index}/_search", s.esSearch)
	m.HandleFunc("POST /{index}/_search", s.esSearch)
	m.HandleFunc("GET /{index}/_count", s.esCount)
	m.HandleFunc("POST /{index}/_refresh", s.esRefresh)
	m.HandleFunc("POST /indexes/{uid}/search", s.meiliSearch)
	s.writeRoutes(m)
	m.HandleFunc("GET /_fault", s.getFault)
	m.HandleFunc("POST /_fault", s.setFault)
	m.HandleFunc("DELETE /_fault", s.clearFault)
	m.HandleFunc("GET /_requests", s.getRequests)
	m.HandleFunc("DELETE /_requests", s.clearRequests)
	m.HandleFunc("GET /_stats", s.stats)
	return s.withTasks(m)
}

func (s *Server) health(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := s.faults.decide(true)
		if sleep(r.Context(), d.delay) != nil {
			return
		}
		status, out := http.StatusOK, []byte(strings.ReplaceAll(body, "%[1]s", s.engine))
		if d.status != 0 {
			status, out = d.status, ESError(d.status, "fault", "injected fault")
		}
		write(w, r, d, status, out)
	}
}

// readBody reads a capped body; false means an error was written.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return b, true
}

func (s *Server) esSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.log.add(r, body)
	d := s.faults.decide(false)
	if sleep(r.Context(), d.delay) != nil {
		return
	}
	if d.status != 0 {
		write(w, r, d, d.status, ESError(d.status, "fault_injected_exception", "injected fault"))
		return
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if idx := r.PathValue("index"); idx != s.index && idx != "_all" && idx != "*" {
		write(w, r, d, http.StatusNotFound, ESError(404, "index_not_found_exception", "no such index ["+idx+"]"))
		return
	}
	q, err := ParseES(body)
	if err == nil {
		err = esURLParams(r, q)
	}
	if err != nil {
		write(w, r, d, http.StatusBadRequest, ESError(400, "parsing_exception", err.Error()))
		return
	}
	res, err := s.b.Search(r.Context(), q)
	if err != nil {
		status, typ := searchStatus(err)
		write(w, r, d, status, ESError(status, typ, err.Error()))
		return
	}
	write(w, r, d, http.StatusOK, EncodeES(s.index, q, res, time.Since(start).Milliseconds()))
}

// esURLParams applies the URL's q, from and size, which win over the body.
func esURLParams(r *http.Request, q *Query) error {
	v := r.URL.Query()
	q.TypedKeys = v.Get("typed_keys") == "true"
	if t := v.Get("q"); t != "" {
		q.Text, q.Syntax, q.MatchAll, q.Fields = t, true, false, nil
	}
	for name, dst := range map[string]*int{"from": &q.From, "size": &q.Size} {
		if x := v.Get(name); x != "" {
			n, err := strconv.Atoi(x)
			if err != nil || n < 0 {
				return fmt.Errorf("bad [%s]: %q", name, x)
			}
			*dst = n
		}
	}
	return nil
}

func searchStatus(err error) (int, string) {
	var bq *BadQuery
	if errors.As(err, &bq) {
		return http.StatusBadRequest, "search_phase_execution_exception"
	}
	return http.StatusInternalServerError, "search_phase_execution_exception"
}

func (s *Server) esCount(w http.ResponseWriter, r *http.Request) {
	n, err := s.b.Count(r.Context())
	if err != nil {
		writeJSON(w, 500, ESError(500, "exception", err.Error()))
		return
	}
	writeJSON(w, 200, fmt.Appendf(nil, `{"count":%d,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0}}`, n))
}

func (s *Server) esRefresh(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, []byte(`{"_shards":{"total":1,"successful":1,"failed":0}}`))
}

func (s *Server) meiliSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.log.add(r, body)
	d := s.faults.decide(false)
	if sleep(r.Context(), d.delay) != nil {
		return
	}
	if d.status != 0 {
		write(w, r, d, d.status, MeiliError("internal", "internal", "injected fault"))
		return
	}
	if uid := r.PathValue("uid"); uid != s.index {
		write(w, r, d, http.StatusNotFound, MeiliError("index_not_found", "invalid_request", "Index `"+uid+"` not found."))
		return
	}
	q, p, err := ParseMeili(body)
	if err != nil {
		write(w, r, d, http.StatusBadRequest, MeiliError("bad_request", "invalid_request", err.Error()))
		return
	}
	res, err := s.b.Search(r.Context(), q)
	if err != nil {
		status, _ := searchStatus(err)
		write(w, r, d, status, MeiliError("internal", "internal", err.Error()))
		return
	}
	write(w, r, d, http.StatusOK, EncodeMeili(q, p, res, time.Since(start).Milliseconds()))
}

func (s *Server) getFault(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(s.faults.get())
	writeJSON(w, 200, b)
}

func (s *Server) setFault(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var f Fault
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		http.Error(w, "bad fault: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.faults.set(f)
	s.getFault(w, r)
}

func (s *Server) clearFault(w http.ResponseWriter, r *http.Request) {
	s.faults.set(Fault{})
	s.getFault(w, r)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	n, _ := s.b.Count(r.Context())
	s.faults.mu.Lock()
	searches, applied := s.faults.searches, s.faults.applied
	s.faults.mu.Unlock()
	writeJSON(w, 200, fmt.Appendf(nil, `{"docs":%d,"searches":%d,"faulted":%d}`, n, searches, applied))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// DocID reads the id field of a JSON document ("" when absent).
func DocID(src []byte, field string) string {
	var m map[string]any
	if json.Unmarshal(src, &m) != nil {
		return ""
	}
	switch v := m[field].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return strings.TrimSpace(fmt.Sprint(v))
	}
}

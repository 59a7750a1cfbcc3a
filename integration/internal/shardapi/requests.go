package shardapi

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Request is one search request as the shard saw it: GET /_requests lists the
// recent ones so tests can check what each shard received (its own body, its
// own headers), not only what came back.
type Request struct {
	Time   time.Time           `json:"time"`
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  string              `json:"query,omitempty"`
	Header map[string][]string `json:"header"`
	Body   string              `json:"body"`
}

const logSize = 256

// requestLog keeps the last logSize search requests.
type requestLog struct {
	mu   sync.Mutex
	reqs []Request
}

func (l *requestLog) add(r *http.Request, body []byte) {
	req := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: string(body)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) == logSize {
		copy(l.reqs, l.reqs[1:])
		l.reqs = l.reqs[:logSize-1]
	}
	l.reqs = append(l.reqs, req)
}

func (s *Server) getRequests(w http.ResponseWriter, r *http.Request) {
	s.log.mu.Lock()
	b, _ := json.Marshal(append([]Request{}, s.log.reqs...))
	s.log.mu.Unlock()
	writeJSON(w, 200, b)
}

func (s *Server) clearRequests(w http.ResponseWriter, r *http.Request) {
	s.log.mu.Lock()
	s.log.reqs = nil
	s.log.mu.Unlock()
	writeJSON(w, 200, []byte(`{}`))
}

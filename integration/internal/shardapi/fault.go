package shardapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is the misbehaviour a shard server applies to its search answers. The
// zero value is a healthy shard. Set at start (-fault JSON) or at run time with
// POST /_fault.
type Fault struct {
	// DelayMS delays every faulted answer by this many milliseconds.
	DelayMS int `json:"delay_ms,omitempty"`
	// SlowShare of the answers (0..1, spread evenly) are delayed SlowMS more.
	SlowShare float64 `json:"slow_share,omitempty"`
	SlowMS    int     `json:"slow_ms,omitempty"`
	// Status answers with this HTTP status and the dialect's error body.
	Status int `json:"status,omitempty"`
	// StatusShare of the answers (0..1, spread evenly) get Status; 0 means all.
	StatusShare float64 `json:"status_share,omitempty"`
	// HTML answers 200 with an HTML page, as a misrouted proxy would.
	HTML bool `json:"html,omitempty"`
	// Truncate sends the headers and half the body, then drops the connection.
	Truncate bool `json:"truncate,omitempty"`
	// Drop closes the connection without an answer.
	Drop bool `json:"drop,omitempty"`
	// OversizeBytes pads the (still valid) JSON answer to at least this size.
	OversizeBytes int `json:"oversize_bytes,omitempty"`
	// Gzip compresses answers for clients that accept gzip; nil keeps the
	// server's -gzip setting.
	Gzip *bool `json:"gzip,omitempty"`
	// Count applies the fault to the next Count searches only; 0: until changed.
	Count int `json:"count,omitempty"`
	// Health makes the health routes fail too (Status, HTML, Drop, delays).
	Health bool `json:"health,omitempty"`
}

// faults holds the current Fault and counters; safe for concurrent use.
type faults struct {
	mu       sync.Mutex
	f        Fault
	gzip     bool // server default
	n        int  // searches seen since the fault was set
	statusN  int
	slowN    int
	applied  int
	searches int
}

// decision is what one answer gets.
type decision struct {
	delay    time.Duration
	status   int
	html     bool
	truncate bool
	drop     bool
	oversize int
	gzip     bool
}

func (fs *faults) set(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f, fs.n, fs.statusN, fs.slowN = f, 0, 0, 0
}

func (fs *faults) get() Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f
}

// pick reports whether the n-th event (from 1) falls in share: exactly
// round(n*share) of the first n events do, spread evenly.
func pick(n int, share float64) bool {
	if share <= 0 || share >= 1 {
		return share >= 1
	}
	return int(float64(n)*share) > int(float64(n-1)*share)
}

// decide draws the fault for one answer; health answers count nothing.
func (fs *faults) decide(health bool) decision {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	d := decision{gzip: fs.gzip}
	if f.Gzip != nil {
		d.gzip = *f.Gzip
	}
	if health {
		if !f.Health {
			return d
		}
	} else {
		fs.searches++
		if f.Count > 0 && fs.n >= f.Count {
			return d
		}
		fs.n++
	}
	d.delay = time.Duration(f.DelayMS) * time.Millisecond
	if f.SlowMS > 0 && f.SlowShare > 0 {
		fs.slowN++
		if pick(fs.slowN, f.SlowShare) {
			d.delay += time.Duration(f.SlowMS) * time.Millisecond
		}
	}
	if f.Status != 0 {
		fs.statusN++
		if f.StatusShare == 0 || pick(fs.statusN, f.StatusShare) {
			d.status = f.Status
		}
	}
	d.html, d.truncate, d.drop, d.oversize = f.HTML, f.Truncate, f.Drop, f.OversizeBytes
	if d != (decision{gzip: d.gzip}) && !health {
		fs.applied++
	}
	return d
}

// sleep waits d or until ctx ends (the client gave up).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

const htmlPage = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>" +
	"<body><h1>Bad Gateway</h1><p>The proxy received an invalid response.</p></body></html>\n"

// write sends an answer through decision d.
func write(w http.ResponseWriter, r *http.Request, d decision, status int, body []byte) {
	h := w.Header()
	if d.drop {
		panic(http.ErrAbortHandler) // net/http closes the connection, sends nothing
	}
	ctype := "application/json"
	if d.html {
		status, body, ctype = http.StatusOK, []byte(htmlPage), "text/html; charset=utf-8"
	}
	if d.oversize > len(body) && ctype == "application/json" {
		body = pad(body, d.oversize)
	}
	h.Set("Content-Type", ctype)
	if d.gzip && acceptsGzip(r) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(body)
		zw.Close()
		body = zb.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if d.truncate {
		w.Write(body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// pad grows a JSON object to at least n bytes with a "_padding" field.
func pad(body []byte, n int) []byte {
	i := bytes.LastIndexByte(body, '}')
	if i < 0 {
		return body
	}
	fill := n - len(body) - len(`,"_padding":""`)
	if fill < 0 {
		fill = 0
	}
	out := make([]byte, 0, n+16)
	out = append(out, body[:i]...)
	out = append(out, `,"_padding":"`...)
	out = append(out, bytes.Repeat([]byte{'x'}, fill)...)
	out = append(out, `"}`...)
	return append(out, body[i+1:]...)
}

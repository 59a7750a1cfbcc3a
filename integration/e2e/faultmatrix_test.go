package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// This file: the fault matrix (TestFaultMatrix) and the helpers that read the
// federate dialect's answer, shared with reload_test.go.

// fedAnswer is the federate (canonical) dialect's answer.
type fedAnswer struct {
	Hits []struct {
		ID    string  `json:"id"`
		Score float64 `json:"score"`
		Shard string  `json:"shard"`
		Rank  int     `json:"rank"`
	} `json:"hits"`
	Total         int64                     `json:"total"`
	TotalRelation string                    `json:"total_relation"`
	Shards        map[string]fedShardReport `json:"shards"`
	Complete      *bool                     `json:"complete"`
	TookMS        int64                     `json:"took_ms"`
}

type fedShardReport struct {
	Status     string `json:"status"`
	TookMS     int64  `json:"took_ms"`
	Replica    string `json:"replica"`
	HTTPStatus int    `json:"http_status"`
	Reason     string `json:"reason"`
	Hits       int    `json:"hits"`
}

// fedResult is one client request to a federate route.
type fedResult struct {
	code   int
	body   []byte
	ans    fedAnswer         // decoded when code is 200
	timing map[string]string // shard -> status, from Server-Timing (every answer after a fan-out)
	took   time.Duration
	err    error
}

// status is a shard's status from the body (200) or from Server-Timing.
func (r fedResult) status(shard string) string {
	if s, ok := r.ans.Shards[shard]; ok {
		return s.Status
	}
	return r.timing[shard]
}

// byShard lists the ids of the answer's hits credited to each shard.
func (r fedResult) byShard() map[string][]string {
	out := map[string][]string{}
	for _, h := range r.ans.Hits {
		out[h.Shard] = append(out[h.Shard], h.ID)
	}
	return out
}

// fedClient is a client with enough idle connections for a few load workers.
var fedClient = &http.Client{
	Timeout:   15 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
}

// fedSearch sends GET front?q=text&limit=limit and decodes the answer; a
// transport error or an unreadable 200 is in err.
func fedSearch(ctx context.Context, front, text string, limit int) fedResult {
	u := front + "?" + url.Values{"q": {text}, "limit": {strconv.Itoa(limit)}}.Encode()
	start := time.Now()
	var r fedResult
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		r.err = err
		return r
	}
	resp, err := fedClient.Do(req)
	if err != nil {
		r.err, r.took = err, time.Since(start)
		return r
	}
	defer resp.Body.Close()
	r.body, r.err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	r.took, r.code = time.Since(start), resp.StatusCode
	r.timing = parseServerTiming(resp.Header.Get("Server-Timing"))
	if r.err == nil && r.code == 200 {
		if err := json.Unmarshal(r.body, &r.ans); err != nil {
			r.err = fmt.Errorf("200 with an unreadable body: %v: %.200s", err, r.body)
		} else if r.ans.Complete == nil || r.ans.Shards == nil {
			r.err = fmt.Errorf("200 without complete/shards: %.200s", r.body)
		} else if c := resp.Header.Get("Federate-Complete"); c != strconv.FormatBool(*r.ans.Complete) {
			r.err = fmt.Errorf("Federate-Complete %q, body complete %v", c, *r.ans.Complete)
		}
	}
	return r
}

// parseServerTiming reads `name;desc="status";dur=ms, ...`.
func parseServerTiming(h string) map[string]string {
	out := map[string]string{}
	for _, m := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(m), ";")
		if len(parts) < 2 || parts[0] == "" {
			continue
		}
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "desc="); ok {
				if s, err := strconv.Unquote(v); err == nil {
					v = s
				}
				out[parts[0]] = v
			}
		}
	}
	return out
}

// shardTruth is what one shard answers on its own to the request federate
// sends it.
type shardTruth struct {
	ids   []string
	total int64
}

// directTruth replays the last search request s received (the one federate
// built for it) straight to s, and returns its hit ids and total.
func directTruth(t *testing.T, s *harness.Shard) shardTruth {
	t.Helper()
	reqs := s.Requests(t)
	if len(reqs) == 0 {
		t.Fatalf("%s saw no search request", s.Name)
	}
	last := reqs[len(reqs)-1]
	path := last.Path
	if last.Query != "" {
		path += "?" + last.Query
	}
	var body any
	if last.Body != "" {
		body = last.Body
	}
	code, b := s.Do(t, last.Method, path, body)
	a := decodeES(t, code, b)
	return shardTruth{ids: ids(a), total: int64(a.Hits.Total.Value)}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// checkHealthy verifies that every shard in healthy is ok and that the hits
// credited to it are exactly what it returns on its own.
func checkHealthy(t *testing.T, r fedResult, truth map[string]shardTruth, healthy ...string) {
	t.Helper()
	got := r.byShard()
	for _, name := range healthy {
		if st := r.status(name); st != "ok" {
			t.Errorf("healthy shard %s: status %q (%s)", name, st, r.ans.Shards[name].Reason)
			continue
		}
		if !sameSet(got[name], truth[name].ids) {
			t.Errorf("shard %s: merged answer has %d of its hits %v, on its own it returns %d %v",
				name, len(got[name]), got[name], len(truth[name].ids), truth[name].ids)
		}
	}
}

// fmShard / fmRoute describe one federate route of the matrix.
type fmShard struct {
	name    string
	addrs   []string
	timeout string
	extra   string // reverse_proxy subdirectives, one per line
}

type fmRoute struct {
	timeout string
	maxResp string
	shards  []fmShard
}

func (r fmRoute) site(addr string) string {
	var b strings.Builder
	// Coalescing off: every client request is its own fan-out, so a request
	// sent after a fault cannot share an answer gathered before it.
	fmt.Fprintf(&b, "http://%s {\n\tfederate {\n\t\tdialect federate\n\t\tcoalesce off\n\t\ttimeout %s\n", addr, orStr(r.timeout, "3s"))
	if r.maxResp != "" {
		fmt.Fprintf(&b, "\t\tmax_response_size %s\n", r.maxResp)
	}
	for _, s := range r.shards {
		fmt.Fprintf(&b, "\t\tshard %s %s {\n\t\t\tdialect elasticsearch\n\t\t\tindex docs\n\t\t\ttimeout %s\n",
			s.name, strings.Join(s.addrs, " "), orStr(s.timeout, "1500ms"))
		for _, l := range strings.Split(strings.TrimSpace(s.extra), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				fmt.Fprintf(&b, "\t\t\t%s\n", l)
			}
		}
		b.WriteString("\t\t}\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// fakeES is an in-process "shard" on loopback for answers no shard server
// fault produces: a 200 whose body is not JSON, and a complete HTTP answer
// whose JSON is cut off.
type fakeES struct {
	srv  *httptest.Server
	mode atomic.Value // "badjson" or "cutjson"
}

func startFakeES(t *testing.T) *fakeES {
	f := &fakeES{}
	f.mode.Store("badjson")
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		full := `{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},` +
			`"hits":{"total":{"value":2,"relation":"eq"},"max_score":1.5,"hits":[` +
			`{"_index":"docs","_id":"fake-1","_score":1.5,"_source":{"title":"one"}},` +
			`{"_index":"docs","_id":"fake-2","_score":1.2,"_source":{"title":"two"}}]}}`
		body := full[:len(full)/2]
		if f.mode.Load() == "badjson" {
			body = `{"took":1,"hits":{"total":{"value":2},"hits":[{"_id":"fake-1" "_score":1.5}]}}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(200)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeES) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// fmRow is one line of the result table.
type fmRow struct {
	name, code, shard, took string
}

func logTable(t *testing.T, title string, rows []fmRow) {
	t.Helper()
	w := [4]int{len("case"), len("HTTP"), len("shard status"), len("took")}
	for _, r := range rows {
		for i, s := range []string{r.name, r.code, r.shard, r.took} {
			w[i] = max(w[i], len(s))
		}
	}
	var b strings.Builder
	line := func(a, c, d, e string) {
		fmt.Fprintf(&b, "| %-*s | %-*s | %-*s | %*s |\n", w[0], a, w[1], c, w[2], d, w[3], e)
	}
	line("case", "HTTP", "shard status", "took")
	fmt.Fprintf(&b, "|%s|%s|%s|%s:|\n", strings.Repeat("-", w[0]+2), strings.Repeat("-", w[1]+2),
		strings.Repeat("-", w[2]+2), strings.Repeat("-", w[3]+1))
	for _, r := range rows {
		line(r.name, r.code, r.shard, r.took)
	}
	t.Logf("%s\n%s", title, b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// loadRun runs clients closed-loop workers calling do until stop is closed,
// for at most maxDur and maxN requests each.
func loadRun(clients int, maxDur time.Duration, maxN int, stop <-chan struct{}, do func(worker int)) *sync.WaitGroup {
	var wg sync.WaitGroup
	deadline := time.Now().Add(maxDur)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxN && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				do(w)
			}
		}()
	}
	return &wg
}

// fmLimit is the page size of the matrix's requests; fmCandidates are the
// queries tried, rarest first, until one fits a page on every shard.
const fmLimit = 100

var fmCandidates = []string{"emacs", "haskell", "ruby", "perl", "font", "java", "game", "kernel", "firmware",
	"xml", "documentation", "python"}

// TestFaultMatrix: three bleve shards behind federate (canonical dialect);
// one shard misbehaves in each case. Every case checks the HTTP status, the
// failing shard's status, and that every healthy shard's hits are in the
// merged answer exactly as that shard returns them on its own.
func TestFaultMatrix(t *testing.T) {
	harness.Heavy(t)
	bin := federateBin(t)
	testStart := time.Now()
	parts := corpus.SplitHash(corpus1000(t), 3)
	a := harness.StartESShard(t, harness.ShardOptions{Name: "a", Docs: parts[0]})
	b := harness.StartESShard(t, harness.ShardOptions{Name: "b", Docs: parts[1]})
	c := harness.StartESShard(t, harness.ShardOptions{Name: "c", Docs: parts[2]})
	c2 := harness.StartESShard(t, harness.ShardOptions{Name: "c2", Docs: parts[2]})
	k := harness.StartESShard(t, harness.ShardOptions{Name: "k", Docs: parts[2]})
	fake := startFakeES(t)
	all := []*harness.Shard{a, b, c, c2, k}
	// A frozen shard must be resumed before the harness stops it.
	t.Cleanup(func() { c.Proc.Cmd.Process.Signal(syscall.SIGCONT) })

	port := harness.FreePort(t)
	addr := harness.Addr(port)
	front := "http://" + addr + "/search"
	base := func() fmRoute {
		return fmRoute{shards: []fmShard{
			{name: "a", addrs: []string{a.Addr}},
			{name: "b", addrs: []string{b.Addr}},
			{name: "c", addrs: []string{c.Addr}},
		}}
	}
	caddy := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: base().site(addr)})
	harness.WaitFor(t, caddy.Proc, "site listening", 10*time.Second, harness.HTTPReady("http://"+addr+"/search?q=x"))
	t.Logf("setup (corpus, 5 shard servers, caddy): %v", time.Since(testStart).Round(time.Millisecond))

	// The query: the first candidate that every shard matches and whose hits
	// all fit one page (the corpus is a sample of this machine's archive).
	query := ""
	for _, q := range fmCandidates {
		r := fedSearch(t.Context(), front, q, fmLimit)
		if r.err != nil || r.code != 200 || !*r.ans.Complete {
			t.Fatalf("baseline %q: %d %v %.300s", q, r.code, r.err, r.body)
		}
		if r.ans.Total <= fmLimit && r.ans.Shards["a"].Hits >= 2 && r.ans.Shards["b"].Hits >= 2 && r.ans.Shards["c"].Hits >= 2 {
			query = q
			break
		}
		t.Logf("query %q: total %d, shard hits a=%d b=%d c=%d: not selective enough", q, r.ans.Total,
			r.ans.Shards["a"].Hits, r.ans.Shards["b"].Hits, r.ans.Shards["c"].Hits)
	}
	if query == "" {
		t.Fatalf("no candidate query matches every shard with at most %d hits in all", fmLimit)
	}
	search := func() fedResult { return fedSearch(t.Context(), front, query, fmLimit) }
	// Ground truth: what each shard returns on its own to what federate sent it.
	truth := map[string]shardTruth{}
	var sum int64
	for _, s := range []*harness.Shard{a, b, c} {
		truth[s.Name] = directTruth(t, s)
		sum += truth[s.Name].total
	}
	if sum > fmLimit || int64(len(truth["a"].ids)+len(truth["b"].ids)+len(truth["c"].ids)) != sum {
		t.Fatalf("query %q: shard totals a=%d b=%d c=%d do not fit one page of %d", query,
			truth["a"].total, truth["b"].total, truth["c"].total, fmLimit)
	}
	t.Logf("query %q, limit %d: shard totals a=%d b=%d c=%d", query, fmLimit, truth["a"].total, truth["b"].total, truth["c"].total)
	truth["k"], truth["c2"] = truth["c"], truth["c"]

	load := func(t *testing.T, route fmRoute) {
		t.Helper()
		if err := caddy.LoadErr(route.site(addr)); err != nil {
			t.Fatalf("reload: %v", err)
		}
		// Caddy's reload may reset client connections of the old server
		// (TestReloadUnderLoad measures that; plain reverse_proxy does it
		// too): start the case on a fresh connection that has answered.
		fedClient.CloseIdleConnections()
		for i := 0; i < 3; i++ {
			if r := fedSearch(t.Context(), front, "settle", 1); r.err == nil || r.code != 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	clearAll := func() {
		for _, s := range all {
			if !s.Proc.Exited() {
				s.Do(t, http.MethodDelete, "/_fault", nil)
			}
		}
	}
	// expectOne checks one answer: code, the target's status in want, the
	// other shards healthy and complete.
	expectOne := func(t *testing.T, r fedResult, code int, target string, want ...string) {
		t.Helper()
		if r.err != nil || r.code != code {
			t.Fatalf("got %d (%v), want %d: %.300s", r.code, r.err, code, r.body)
		}
		if st := r.status(target); !contains(want, st) {
			t.Errorf("shard %s: status %q, want %v (%s)", target, st, want, r.ans.Shards[target].Reason)
		}
		var healthy []string
		for name := range truth {
			if _, in := r.ans.Shards[name]; in && name != target {
				healthy = append(healthy, name)
			}
		}
		checkHealthy(t, r, truth, healthy...)
		wantComplete := target == "" || contains(want, "ok")
		if *r.ans.Complete != wantComplete && len(want) == 1 {
			t.Errorf("complete %v, want %v", *r.ans.Complete, wantComplete)
		}
	}
	row := func(name string, r fedResult, shard string) fmRow {
		return fmRow{name: name, code: strconv.Itoa(r.code), shard: shard, took: ms(r.took)}
	}
	// faultCase is the common shape: set a fault on c, one request.
	faultCase := func(name string, f harness.Fault, route func() fmRoute, want string) func(t *testing.T) fmRow {
		return func(t *testing.T) fmRow {
			if route == nil {
				route = base
			}
			load(t, route())
			c.SetFault(t, f)
			r := search()
			expectOne(t, r, 200, "c", want)
			return row(name, r, "c="+r.status("c"))
		}
	}

	cases := []struct {
		name string
		run  func(t *testing.T) fmRow
	}{
		{"all healthy", func(t *testing.T) fmRow {
			load(t, base())
			r := search()
			expectOne(t, r, 200, "", "")
			checkHealthy(t, r, truth, "a", "b", "c")
			return row("all healthy", r, "a,b,c=ok")
		}},
		{"shard answers 500", faultCase("shard answers 500", harness.Fault{Status: 500}, nil, "error")},
		{"HTML answer", faultCase("HTML answer", harness.Fault{HTML: true}, nil, "invalid")},
		{"invalid JSON (200)", func(t *testing.T) fmRow {
			fake.mode.Store("badjson")
			route := base()
			route.shards[2].addrs = []string{fake.addr()}
			load(t, route)
			r := search()
			expectOne(t, r, 200, "c", "invalid")
			return row("invalid JSON (200)", r, "c="+r.status("c"))
		}},
		{"JSON cut off, complete HTTP answer", func(t *testing.T) fmRow {
			fake.mode.Store("cutjson")
			route := base()
			route.shards[2].addrs = []string{fake.addr()}
			load(t, route)
			r := search()
			expectOne(t, r, 200, "c", "invalid")
			return row("JSON cut off, complete HTTP answer", r, "c="+r.status("c"))
		}},
		// The shard sends its headers (full Content-Length) and half the body,
		// then cuts the connection: reverse_proxy aborts the stream, which
		// federate documents as a proxy failure (error); invalid is the
		// status of a complete answer that does not parse.
		{"body cut mid-way, connection closed", faultCase("body cut mid-way, connection closed",
			harness.Fault{Truncate: true}, nil, "error")},
		{"answer above max_response_size", faultCase("answer above max_response_size",
			harness.Fault{OversizeBytes: 2 << 20}, func() fmRoute {
				r := base()
				r.maxResp = "1MiB"
				return r
			}, "invalid")},
		{"gzip-compressed answers", func(t *testing.T) fmRow {
			load(t, base())
			on := true
			for _, s := range []*harness.Shard{a, b, c} {
				s.SetFault(t, harness.Fault{Gzip: &on})
				s.ClearRequests(t)
			}
			r := search()
			expectOne(t, r, 200, "", "")
			checkHealthy(t, r, truth, "a", "b", "c")
			for _, s := range []*harness.Shard{a, b, c} {
				reqs := s.Requests(t)
				if len(reqs) == 0 || !strings.Contains(strings.Join(reqs[len(reqs)-1].Header["Accept-Encoding"], ","), "gzip") {
					t.Errorf("%s: federate did not accept gzip, so the answer was not compressed: %+v", s.Name, reqs)
				}
			}
			return row("gzip-compressed answers", r, "a,b,c=ok")
		}},
		{"slow shard past its timeout", func(t *testing.T) fmRow {
			route := base()
			route.shards[2].timeout = "400ms"
			load(t, route)
			c.SetFault(t, harness.Fault{DelayMS: 3000})
			r := search()
			expectOne(t, r, 200, "c", "timeout")
			if tk := r.ans.Shards["c"].TookMS; tk < 350 || r.took > 1500*time.Millisecond {
				t.Errorf("timeout after %d ms, answer after %v; want ~400 ms", tk, r.took)
			}
			return row("slow shard past its timeout (400ms)", r, "c="+r.status("c"))
		}},
		{"engine frozen (SIGSTOP), then SIGCONT", func(t *testing.T) fmRow {
			route := base()
			route.shards[2].timeout = "400ms"
			load(t, route)
			if err := c.Proc.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			frozen := search()
			c.Proc.Cmd.Process.Signal(syscall.SIGCONT)
			expectOne(t, frozen, 200, "c", "timeout")
			// Resumed: ok again within a few requests.
			var after fedResult
			for i := 0; i < 20; i++ {
				after = search()
				if after.status("c") == "ok" {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			expectOne(t, after, 200, "c", "ok")
			checkHealthy(t, after, truth, "a", "b", "c")
			return fmRow{"engine frozen (SIGSTOP), then SIGCONT", fmt.Sprintf("%d, %d", frozen.code, after.code),
				"c=" + frozen.status("c") + " → " + after.status("c"), ms(frozen.took) + ", " + ms(after.took)}
		}},
		{"replica flapping (2 replicas, one up/down)", func(t *testing.T) fmRow {
			route := base()
			route.shards[2].addrs = []string{c.Addr, c2.Addr}
			route.shards[2].extra = `
				lb_policy round_robin
				lb_retries 2
				request_buffers 64KiB
				lb_retry_match {
					method GET POST
				}
				fail_duration 250ms
				max_fails 1`
			load(t, route)
			stop := make(chan struct{})
			var mu sync.Mutex
			var n, bad int
			var worst time.Duration
			var firstBad string
			reasons := map[string]int{}
			wg := loadRun(2, 10*time.Second, 500, stop, func(int) {
				r := search()
				mu.Lock()
				defer mu.Unlock()
				n++
				worst = max(worst, r.took)
				reasons[r.status("c")+" "+r.ans.Shards["c"].Reason]++
				got := r.byShard()
				if r.err != nil || r.code != 200 || r.status("c") != "ok" || !sameSet(got["a"], truth["a"].ids) ||
					!sameSet(got["b"], truth["b"].ids) || !sameSet(got["c"], truth["c"].ids) {
					bad++
					if firstBad == "" {
						firstBad = fmt.Sprintf("%d %v c=%s (%s)", r.code, r.err, r.status("c"), r.ans.Shards["c"].Reason)
					}
				}
			})
			drops := 0
			for i := 0; i < 16; i++ {
				time.Sleep(150 * time.Millisecond)
				if i%2 == 0 {
					c2.SetFault(t, harness.Fault{Drop: true})
					drops++
				} else {
					c2.ClearFault(t)
				}
			}
			close(stop)
			wg.Wait()
			faulted := c2.Stats(t).Faulted
			t.Logf("flapping: %d requests, %d bad, %d down phases, %d answers dropped by the flapping replica, slowest %v; c: %v",
				n, bad, drops, faulted, worst, reasons)
			if n < 10 || bad > 0 {
				t.Errorf("%d of %d answers not 200 with c ok and every hit: first %s", bad, n, firstBad)
			}
			if faulted == 0 {
				t.Errorf("the flapping replica never dropped a request: the case tested nothing")
			}
			return fmRow{"replica flapping (2 replicas, one up/down)", fmt.Sprintf("200 ×%d", n-bad),
				fmt.Sprintf("c=ok ×%d (%d drops retried)", n-bad, faulted), "max " + ms(worst)}
		}},
		{"engine killed mid-load", func(t *testing.T) fmRow {
			route := base()
			route.shards[2] = fmShard{name: "k", addrs: []string{k.Addr}, extra: "fail_duration 30s\nmax_fails 1"}
			load(t, route)
			stop := make(chan struct{})
			var killedAt atomic.Int64
			var mu sync.Mutex
			var n, bad, afterKill int
			seen, inFlight := map[string]int{}, map[string]int{}
			var firstBad string
			wg := loadRun(2, 10*time.Second, 500, stop, func(int) {
				sent := time.Now()
				r := search()
				mu.Lock()
				defer mu.Unlock()
				n++
				got := r.byShard()
				if r.err != nil || r.code != 200 || !sameSet(got["a"], truth["a"].ids) || !sameSet(got["b"], truth["b"].ids) {
					bad++
					if firstBad == "" {
						firstBad = fmt.Sprintf("%d %v %.200s", r.code, r.err, r.body)
					}
				}
				if ka := killedAt.Load(); ka != 0 && sent.UnixNano() > ka {
					afterKill++
					seen[r.status("k")]++
				} else if ka != 0 {
					inFlight[r.status("k")]++ // in flight at the kill
				}
			})
			time.Sleep(700 * time.Millisecond)
			killedAt.Store(time.Now().UnixNano())
			k.Proc.Kill()
			time.Sleep(1200 * time.Millisecond)
			close(stop)
			wg.Wait()
			t.Logf("killed mid-load: %d requests (in flight at the kill: k %v; %d sent after it: k %v), %d bad",
				n, inFlight, afterKill, seen, bad)
			if bad > 0 {
				t.Errorf("%d of %d answers failed or lost healthy hits: first %s", bad, n, firstBad)
			}
			if afterKill == 0 || seen["ok"] > 0 || seen["error"]+seen["unavailable"] != afterKill {
				t.Errorf("after the kill k was %v, want only error/unavailable", seen)
			}
			// Passive health has marked the only replica down: unavailable at once.
			r := search()
			expectOne(t, r, 200, "k", "unavailable")
			if tk := r.ans.Shards["k"].TookMS; tk > 50 {
				t.Errorf("unavailable after %d ms, want at once", tk)
			}
			return fmRow{"engine killed mid-load", fmt.Sprintf("200 ×%d", n-bad),
				fmt.Sprintf("k=ok ×%d/error ×%d in flight; error ×%d, unavailable ×%d after; then unavailable (%d ms)",
					inFlight["ok"], inFlight["error"], seen["error"], seen["unavailable"], r.ans.Shards["k"].TookMS), ms(r.took)}
		}},
		{"reload while a shard is down", func(t *testing.T) fmRow {
			route := base()
			route.shards[0].extra = "lb_policy first"
			route.shards[2] = fmShard{name: "k", addrs: []string{k.Addr}, timeout: "1s",
				extra: "health_uri /health\nhealth_interval 500ms"}
			start := time.Now()
			load(t, route)
			reload := time.Since(start)
			r := search()
			expectOne(t, r, 200, "k", "error", "unavailable")
			if *r.ans.Complete {
				t.Errorf("complete with k down")
			}
			return fmRow{"reload while a shard is down", "200", "k=" + r.status("k") + fmt.Sprintf(" (reload %d ms)", reload.Milliseconds()), ms(r.took)}
		}},
		{"every shard down", func(t *testing.T) fmRow {
			route := base()
			route.shards[0].addrs = []string{harness.Addr(harness.FreePort(t))}
			route.shards[1].addrs = []string{harness.Addr(harness.FreePort(t))}
			route.shards[2] = fmShard{name: "k", addrs: []string{k.Addr}}
			load(t, route)
			r := search()
			if r.code != http.StatusBadGateway {
				t.Fatalf("got %d (%v), want 502: %.300s", r.code, r.err, r.body)
			}
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if json.Unmarshal(r.body, &e) != nil || e.Error.Code != "shards_failed" {
				t.Errorf("error body %.300s, want code shards_failed", r.body)
			}
			var sts []string
			for _, name := range []string{"a", "b", "k"} {
				st := r.status(name)
				if st != "error" && st != "unavailable" {
					t.Errorf("shard %s: %q in Server-Timing, want error", name, st)
				}
				sts = append(sts, name+"="+st)
			}
			return row("every shard down", r, strings.Join(sts, ","))
		}},
		{"every shard times out", func(t *testing.T) fmRow {
			route := base()
			for i := range route.shards {
				route.shards[i].timeout = "400ms"
			}
			load(t, route)
			for _, s := range []*harness.Shard{a, b, c} {
				s.SetFault(t, harness.Fault{DelayMS: 3000})
			}
			r := search()
			if r.code != http.StatusGatewayTimeout {
				t.Fatalf("got %d (%v), want 504: %.300s", r.code, r.err, r.body)
			}
			for _, name := range []string{"a", "b", "c"} {
				if st := r.status(name); st != "timeout" {
					t.Errorf("shard %s: %q in Server-Timing, want timeout", name, st)
				}
			}
			if r.took > 1500*time.Millisecond {
				t.Errorf("504 after %v with 400ms shard timeouts", r.took)
			}
			return row("every shard times out", r, "a,b,c="+r.status("a"))
		}},
	}

	var rows []fmRow
	defer func() {
		logTable(t, "fault matrix (client dialect federate, 3 shards, query "+strconv.Quote(query)+")", rows)
	}()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer clearAll()
			rw := tc.run(t)
			if t.Failed() {
				rw.shard += " (FAILED)"
			}
			rows = append(rows, rw)
		})
	}
	t.Logf("fault matrix: %d cases in %v", len(cases), time.Since(testStart).Round(time.Millisecond))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

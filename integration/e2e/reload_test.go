package e2e

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/corpus"
	"github.com/searchfront/caddy-federate/integration/harness"
)

// reloadCfg is one variant of the reload test's route.
type reloadCfg struct {
	weights  [3]string // es1, es2, pg
	timeouts [3]string
	es2Both  bool // es2 over two replicas (es2, es2b) instead of one
}

// reloadVariant is the i-th config of the reload sequence: weights, shard
// timeouts and es2's replica list all change from one reload to the next.
func reloadVariant(i int) reloadCfg {
	ws := []string{"1", "0.5", "2", "1.5"}
	ts := []string{"1500ms", "2s", "2500ms"}
	return reloadCfg{
		weights:  [3]string{ws[i%4], ws[(i+1)%4], ws[(i+2)%4]},
		timeouts: [3]string{ts[i%3], ts[(i+1)%3], ts[(i+2)%3]},
		es2Both:  i%2 == 1,
	}
}

func (rc reloadCfg) site(addr string, es1, es2, es2b, pg *harness.Shard) string {
	es2Addrs := es2.Addr
	if rc.es2Both {
		es2Addrs += " " + es2b.Addr
	}
	var b strings.Builder
	fmt.Fprintf(&b, "http://%s {\n\tfederate {\n\t\tname reload\n\t\tdialect federate\n\t\ttimeout 3s\n", addr)
	for i, s := range []struct{ name, addrs string }{{"es1", es1.Addr}, {"es2", es2Addrs}, {"pg", pg.Addr}} {
		fmt.Fprintf(&b, "\t\tshard %s %s {\n\t\t\tdialect elasticsearch\n\t\t\tindex docs\n\t\t\tweight %s\n\t\t\ttimeout %s\n",
			s.name, s.addrs, rc.weights[i], rc.timeouts[i])
		if s.name == "es2" {
			b.WriteString("\t\t\tlb_policy round_robin\n")
		}
		b.WriteString("\t\t}\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// TestReloadUnderLoad: a federate route over bleve BM25, bleve TF-IDF (one or
// two replicas) and PostgreSQL serves a closed-loop load of a few clients
// while the admin API reloads its config 100 times (weights, timeouts,
// replica lists). Every client request must be a 200 with a complete, valid
// merged answer, and caddy's goroutine count must come back afterwards.
func TestReloadUnderLoad(t *testing.T) {
	harness.Heavy(t)
	bin := federateBin(t)
	testStart := time.Now()
	parts := corpus.SplitHash(corpus1000(t), 3)
	pgc := harness.StartPostgres(t)
	es1 := harness.StartESShard(t, harness.ShardOptions{Name: "es1", Docs: parts[0]})
	es2 := harness.StartESShard(t, harness.ShardOptions{Name: "es2", Docs: parts[1], Scoring: "tfidf"})
	es2b := harness.StartESShard(t, harness.ShardOptions{Name: "es2b", Docs: parts[1], Scoring: "tfidf"})
	pg := harness.StartPGShard(t, pgc, harness.ShardOptions{Name: "pg", Docs: parts[2]})

	addr := harness.Addr(harness.FreePort(t))
	front := "http://" + addr + "/search"
	site := func(i int) string { return reloadVariant(i).site(addr, es1, es2, es2b, pg) }
	c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: site(0)})
	harness.WaitFor(t, c.Proc, "site listening", 10*time.Second, harness.HTTPReady(front+"?q=x"))
	t.Logf("setup (corpus, PostgreSQL, 4 shard servers, caddy): %v", time.Since(testStart).Round(time.Millisecond))

	// Each query's merged total: the sum of the shards' totals, whatever
	// the weights, timeouts or replicas.
	const limit = 20
	queries := []string{"network server", "python library", "haskell", "font", "game", "kernel module"}
	totals := map[string]int64{}
	for _, q := range queries {
		r := fedSearch(t.Context(), front, q, limit)
		if r.err != nil || r.code != 200 || !*r.ans.Complete || r.ans.Total == 0 {
			t.Fatalf("baseline %q: %d %v %.300s", q, r.code, r.err, r.body)
		}
		totals[q] = r.ans.Total
	}

	// valid checks one answer of the load.
	valid := func(q string, r fedResult) error {
		switch {
		case r.err != nil:
			return r.err
		case r.code != 200:
			return fmt.Errorf("status %d: %.200s", r.code, r.body)
		case !*r.ans.Complete:
			return fmt.Errorf("partial answer: %+v", r.ans.Shards)
		case r.ans.Total != totals[q]:
			return fmt.Errorf("total %d, want %d", r.ans.Total, totals[q])
		case len(r.ans.Hits) != int(min(limit, totals[q])):
			return fmt.Errorf("%d hits, want %d", len(r.ans.Hits), min(limit, totals[q]))
		case len(r.ans.Shards) != 3:
			return fmt.Errorf("shards %v", r.ans.Shards)
		}
		seen := map[string]bool{}
		for _, h := range r.ans.Hits {
			if _, ok := r.ans.Shards[h.Shard]; !ok || h.ID == "" || seen[h.ID] {
				return fmt.Errorf("bad or duplicate hit %+v", h)
			}
			seen[h.ID] = true
		}
		return nil
	}

	const clients = 4
	var served, failed, connErrs atomic.Int64
	var mu sync.Mutex
	var failures []string
	var worst time.Duration
	work := func(stop <-chan struct{}, maxDur time.Duration) *sync.WaitGroup {
		var n atomic.Int64
		return loadRun(clients, maxDur, 100000, stop, func(w int) {
			i := n.Add(1)
			q := queries[(int(i)+w)%len(queries)]
			r := fedSearch(t.Context(), front, q, limit)
			if r.code == 0 && r.err != nil {
				// No answer at all: the connection was reset or closed by
				// Caddy's listener handoff on reload, which plain
				// reverse_proxy shows as well. Counted, and the request is
				// retried once (GET is idempotent); the retry must succeed.
				connErrs.Add(1)
				r = fedSearch(t.Context(), front, q, limit)
			}
			served.Add(1)
			mu.Lock()
			defer mu.Unlock()
			worst = max(worst, r.took)
			if err := valid(q, r); err != nil {
				failed.Add(1)
				if len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("%s %q: %v", time.Now().Format("15:04:05.000"), q, err))
				}
			}
		})
	}

	// Warm up: connections, latency history and pools settle; then the
	// goroutine count to come back to.
	stop := make(chan struct{})
	work(stop, time.Second).Wait()
	time.Sleep(500 * time.Millisecond)
	before := c.Goroutines(t)
	warm := served.Load()

	// The load runs for the whole reload sequence.
	stop = make(chan struct{})
	wg := work(stop, 50*time.Second)
	loadStart := time.Now()
	const reloads = 100
	var reloadTime time.Duration
	done := 0
	for i := 1; i <= reloads && time.Since(loadStart) < 40*time.Second; i++ {
		start := time.Now()
		if i%2 == 0 {
			c.Load(t, site(i))
		} else {
			c.LoadJSON(t, c.Adapt(t, site(i)))
		}
		reloadTime += time.Since(start)
		done++
		time.Sleep(80 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // answers under the last config too
	close(stop)
	wg.Wait()
	loadDur := time.Since(loadStart)
	underLoad := served.Load() - warm

	// Back to the first config, idle: the goroutine count must come back.
	c.Load(t, site(0))
	const tolerance = 25
	after := waitGoroutines(t, c, before+tolerance, 15*time.Second)
	st1, st2, st2b, stp := es1.Stats(t), es2.Stats(t), es2b.Stats(t), pg.Stats(t)

	t.Logf("reload under load: %d clients, %d requests served during %d reloads in %v (%d in warm-up), %d failed, "+
		"%d connection resets/EOFs before any answer (retried), "+
		"slowest answer %v; reload took %v on average; searches per shard server: es1 %d, es2 %d, es2b %d, pg %d; "+
		"caddy goroutines %d before, %d after (tolerance %d)",
		clients, underLoad, done, loadDur.Round(time.Millisecond), warm, failed.Load(), connErrs.Load(), worst.Round(time.Millisecond),
		(reloadTime / time.Duration(max(done, 1))).Round(time.Millisecond), st1.Searches, st2.Searches, st2b.Searches,
		stp.Searches, before, after, tolerance)
	logTable(t, "reload under load", []fmRow{
		{"requests served (under reload)", "200", fmt.Sprintf("%d ok, %d failed", underLoad-failed.Load(), failed.Load()),
			ms(loadDur)},
		{"connection reset/EOF before an answer", "-", fmt.Sprintf("%d (retried once, all retries ok: %v)",
			connErrs.Load(), failed.Load() == 0), ""},
		{"admin reloads (POST /load)", "200", fmt.Sprintf("%d (Caddyfile %d, JSON %d)", done, done/2, done-done/2),
			"avg " + ms(reloadTime/time.Duration(max(done, 1)))},
		{"caddy goroutines", "", fmt.Sprintf("%d before, %d after", before, after), ""},
	})
	// A replaced config closes the upstream connections its last requests
	// used once they end (caddyfederate.Handler.callDone); before that they
	// idled, two goroutines each, until the transport's idle timeout.
	if after > before+tolerance {
		t.Errorf("caddy has %d goroutines 15 s after the load, %d before (tolerance %d); largest groups:\n%s",
			after, before, tolerance, goroutineGroups(t, c, 6))
	}
	if done != reloads {
		t.Errorf("only %d of %d reloads in the time budget", done, reloads)
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d client requests failed; first: %s", failed.Load(), served.Load(), strings.Join(failures, "; "))
	}
	if underLoad < reloads {
		t.Errorf("only %d requests during %d reloads: the load did not run", underLoad, done)
	}
	if st2b.Searches == 0 {
		t.Errorf("es2b never searched: the two-replica configs did not take effect")
	}
}

// waitGoroutines is Caddy.WaitGoroutines without failing: it returns the
// last count, at most max unless timeout passed.
func waitGoroutines(t *testing.T, c *harness.Caddy, max int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := c.Goroutines(t)
		if n <= max || time.Now().After(deadline) {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// goroutineGroups is the head of the n largest groups of caddy's goroutine
// profile (debug=1 groups identical stacks, largest first).
func goroutineGroups(t *testing.T, c *harness.Caddy, n int) string {
	_, b := harness.Do(t, "GET", c.AdminURL+"/debug/pprof/goroutine?debug=1", nil)
	groups := strings.Split(string(b), "\n\n")
	if len(groups) > n+1 {
		groups = groups[:n+1]
	}
	for i, g := range groups {
		if lines := strings.Split(g, "\n"); len(lines) > 14 {
			groups[i] = strings.Join(lines[:14], "\n")
		}
	}
	return strings.Join(groups, "\n\n")
}

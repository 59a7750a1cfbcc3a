package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/searchfront/caddy-federate/integration/internal/benchproc"
)

const searchPath = "/indexes/docs/search"

// target is one thing wrk loads.
type target struct {
	key, name string
	backend   string // "fixed" or "bleve"
	kind      string // "direct", "rp", "fed1", "fed3", "fed3-co"
	url       string // full URL of the search
	caddyPid  int    // the caddy serving it; 0 for direct targets
}

// backend is one set of three shards wrk reaches through the targets.
type backend struct {
	key   string   // "fixed" or "bleve": prefix of its targets' keys
	what  string   // for target names
	addrs []string // the three shards; addrs[0] is "the shard"
	pids  []int
	esh   []*shard // the bleve shards (nil for fixed), for their request logs
}

// measurement is one target's wrk run in one round.
type measurement struct {
	wrk           wrkResult
	caddy, shards time.Duration // CPU time used during the run
	wall          time.Duration
}

func (m measurement) perReq(d time.Duration) float64 { // µs per request
	if m.wrk.Requests == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(m.wrk.Requests)
}

// env of one run, for the report.
type runInfo struct {
	start, end         time.Time
	loadStart, loadEnd string
	caddyBin, note     string
	beforeBin          string // -before
	shardDocs          []int
	sent               map[string]string // what the shard received per target
	respBytes          map[string]int
	hits               map[string]int
	setup, bench       time.Duration
	outcomes           map[string]map[string]float64 // route → outcome → answers
	loads              []string                      // load average after each round
}

func federateSite(port int, name, coalesce string, addrs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "http://127.0.0.1:%d {\n\tfederate {\n\t\tname %s\n\t\tdialect meilisearch\n\t\tcoalesce %s\n", port, name, coalesce)
	for i, a := range addrs {
		fmt.Fprintf(&b, "\t\tshard s%d %s {\n\t\t\tdialect meilisearch\n\t\t\tindex docs\n\t\t}\n", i, a)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func run(ctx context.Context, o options) error {
	info := runInfo{start: time.Now(), loadStart: loadavg(), sent: map[string]string{}, respBytes: map[string]int{}, hits: map[string]int{}}
	dir, err := benchproc.Root()
	if err != nil {
		return err
	}
	if !json.Valid([]byte(strings.ReplaceAll(o.body, "{{q}}", "q"))) {
		return fmt.Errorf("-body is not valid JSON: %s", o.body)
	}
	bin, note, err := caddyBin(ctx, o, dir)
	if err != nil {
		return err
	}
	info.caddyBin, info.note = bin, note
	tmp, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	defer benchproc.StopAll() // before RemoveAll: the processes' files live in tmp

	t0 := time.Now()
	files, sizes, err := writeCorpus(ctx, tmp, o.docs, 3)
	if err != nil {
		return fmt.Errorf("corpus: %v", err)
	}
	info.shardDocs = sizes
	var backends []*backend
	for _, k := range o.backends {
		var be *backend
		switch k {
		case "fixed":
			be, err = fixedBackend(ctx, tmp, files)
		case "bleve":
			be, err = bleveBackend(ctx, o, dir, tmp, files)
		}
		if err != nil {
			return err
		}
		backends = append(backends, be)
	}

	// Free ports can be taken by the other processes of a shared machine
	// between the check and caddy's bind (caddy binds with SO_REUSEPORT, so
	// another SO_REUSEPORT listener on the same port splits its traffic): the
	// fronts are checked, and on a wrong answer caddy restarts on new ports.
	c, targets, err := startFrontRetry(ctx, o, bin, tmp, "", backends, &info)
	if err != nil {
		return err
	}
	if o.before != "" {
		info.beforeBin = o.before
		_, bt, err := startFrontRetry(ctx, o, o.before, tmp, "-before", backends, &info)
		if err != nil {
			return fmt.Errorf("-before: %v", err)
		}
		targets = append(targets, bt...)
	}
	script, err := wrkScript(tmp, o.body)
	if err != nil {
		return err
	}
	info.setup = time.Since(t0)
	fmt.Printf("setup in %v: corpus %d Debian packages → parts of %v docs; backends %v; caddy %s\n",
		info.setup.Round(100*time.Millisecond), o.docs, sizes, o.backends, bin)
	for _, t := range targets {
		fmt.Printf("  %-12s %s  (%d hits, %d bytes)\n", t.key, t.url, info.hits[t.key], info.respBytes[t.key])
		if s := info.sent[t.key]; s != "" {
			fmt.Printf("  %-12s shard 0 received %s\n", "", s)
		}
	}
	fmt.Printf("wrk -t %d -c %d -d %v, %d rounds × %d targets, order rotated each round\n",
		o.threads, o.connections, o.duration, o.rounds, len(targets))

	var pids []int
	for _, be := range backends {
		pids = append(pids, be.pids...)
	}
	caddyPid := c.p.Cmd.Process.Pid
	measure := func(t target, d time.Duration) (measurement, error) {
		var m measurement
		pid := caddyPid // direct targets: caddy idles, its CPU is the noise floor
		if t.caddyPid != 0 {
			pid = t.caddyPid
		}
		before, err := snapshot(pid, pids)
		if err != nil {
			return m, err
		}
		start := time.Now()
		m.wrk, err = runWrk(ctx, script, t.url, o.threads, o.connections, d)
		m.wall = time.Since(start)
		if err != nil {
			return m, err
		}
		after, err := snapshot(pid, pids)
		if err != nil {
			return m, err
		}
		m.caddy, m.shards = after.sub(before)
		if m.wrk.Requests == 0 {
			return m, fmt.Errorf("%s: wrk completed no requests", t.key)
		}
		return m, nil
	}
	pause := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}

	tBench := time.Now()
	for _, t := range targets {
		if _, err := measure(t, o.warmup); err != nil {
			return fmt.Errorf("warm-up: %v", err)
		}
	}
	results := map[string][]measurement{}
	for round := range o.rounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			if err := pause(300 * time.Millisecond); err != nil {
				return err
			}
			m, err := measure(t, o.duration)
			if err != nil {
				return err
			}
			results[t.key] = append(results[t.key], m)
			fmt.Printf("round %d  %-12s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  caddy %6.1f µs/req  shards %6.1f µs/req  errors %d\n",
				round+1, t.key, m.wrk.rps(), m.wrk.P50/1000, m.wrk.P99/1000, m.perReq(m.caddy), m.perReq(m.shards), m.wrk.errors())
		}
		info.loads = append(info.loads, loadavg())
	}
	info.bench = time.Since(tBench)
	if info.outcomes, err = c.answers(); err != nil {
		fmt.Println("warning: reading caddy_federate_answers_total:", err)
	}
	info.loadEnd = loadavg()

	if info.outcomes != nil {
		fmt.Println("federate answers:", outcomeLine(info.outcomes))
	}
	rep := summarize(o, targets, results)
	fmt.Println()
	fmt.Print(rep.table())
	fmt.Println()
	fmt.Print(rep.ratioTable())

	var prof string
	if o.profile == "always" || (o.profile == "auto" && !rep.targetsMet()) {
		if o.profile == "auto" {
			fmt.Println("\nA throughput target was missed: profiling caddy during fed1 and rp runs.")
		}
		var pt []target
		for _, k := range []string{"fed1", "rp"} {
			if t, ok := findTarget(targets, o.backends[0], k); ok {
				pt = append(pt, t)
			}
		}
		prof, err = profileRuns(ctx, o, c, tmp, pt, measure)
		if err != nil {
			fmt.Println("profile:", err)
			prof = "profile failed: " + err.Error() + "\n"
		} else {
			fmt.Print(prof)
		}
	}
	info.end = time.Now()
	fmt.Printf("\nwhole run %v (rounds %v), load average %s → %s\n",
		info.end.Sub(info.start).Round(time.Second), info.bench.Round(time.Second), info.loadStart, info.loadEnd)
	if o.md != "" {
		if err := os.WriteFile(o.md, []byte(markdown(o, info, targets, rep, results, prof)), 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", o.md)
	}
	return nil
}

func findTarget(ts []target, backend, kind string) (target, bool) {
	for _, t := range ts {
		if t.backend == backend && t.kind == kind {
			return t, true
		}
	}
	return target{}, false
}

// fixedBackend starts the fixed backend over the corpus parts.
func fixedBackend(ctx context.Context, tmp string, files []string) (*backend, error) {
	addrs, p, err := startFixed(ctx, tmp, files)
	if err != nil {
		return nil, err
	}
	return &backend{key: "fixed", what: "fixed answer", addrs: addrs, pids: []int{p.Cmd.Process.Pid}}, nil
}

// bleveBackend starts one esshard (bleve, BM25) per corpus part.
func bleveBackend(ctx context.Context, o options, dir, tmp string, files []string) (*backend, error) {
	esshard, err := benchproc.ESShard(ctx, dir, tmp, o.esshard)
	if err != nil {
		return nil, err
	}
	shards := make([]*shard, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() { shards[i], errs[i] = startShard(ctx, esshard, tmp, fmt.Sprintf("esshard%d", i), files[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	be := &backend{key: "bleve", what: "bleve shard", esh: shards}
	for _, s := range shards {
		be.addrs = append(be.addrs, s.addr)
		be.pids = append(be.pids, s.p.Cmd.Process.Pid)
	}
	return be, nil
}

// startFrontRetry is startFront, on other ports when a check fails. Free
// ports can be taken by the other processes of a shared machine between
// the check and caddy's bind (caddy binds with SO_REUSEPORT, so another
// SO_REUSEPORT listener on the same port splits its traffic): the fronts
// are checked, and on a wrong answer caddy restarts on new ports.
func startFrontRetry(ctx context.Context, o options, bin, tmp, label string, backends []*backend, info *runInfo) (*caddy, []target, error) {
	for attempt := 1; ; attempt++ {
		c, targets, err := startFront(ctx, o, bin, filepath.Join(tmp, fmt.Sprintf("caddy%s%d", label, attempt)), label, backends, info)
		if err == nil {
			return c, targets, nil
		}
		if c != nil {
			c.p.Stop()
		}
		if attempt == 3 || ctx.Err() != nil {
			return nil, nil, err
		}
		fmt.Printf("warning: %v; restarting caddy on other ports\n", benchproc.FirstLine(err.Error()))
	}
}

// startFront starts caddy with the proxied targets of every backend on
// fresh ports and checks that every target answers the body with hits
// (federate's with _federation). label ("" or "-before") is appended to the
// backend's key in the targets' keys; a labelled front has no direct
// target (that one does not depend on caddy).
func startFront(ctx context.Context, o options, bin, dir, label string, backends []*backend, info *runInfo) (*caddy, []target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	used := map[int]bool{}
	port := func() (int, error) {
		p, err := pickPort(used)
		used[p] = true
		return p, err
	}
	adminPort, err := port()
	if err != nil {
		return nil, nil, err
	}
	var sites strings.Builder
	var targets []target
	for _, be := range backends {
		bk := be.key + label
		if label == "" {
			targets = append(targets, target{key: be.key + "-direct", name: be.key + ": direct to the " + be.what + " (no caddy)",
				backend: be.key, kind: "direct", url: "http://" + be.addrs[0] + searchPath})
		}
		kinds := []string{"rp", "fed1", "fed3"}
		if o.coalesceRow {
			kinds = append(kinds, "fed3-co")
		}
		for _, kind := range kinds {
			p, err := port()
			if err != nil {
				return nil, nil, err
			}
			key := bk + "-" + kind
			t := target{key: key, backend: bk, kind: kind, url: fmt.Sprintf("http://127.0.0.1:%d%s", p, searchPath)}
			switch kind {
			case "rp":
				t.name = bk + ": caddy reverse_proxy → " + be.what
				fmt.Fprintf(&sites, "http://127.0.0.1:%d {\n\treverse_proxy %s\n}\n", p, be.addrs[0])
			case "fed1":
				t.name = bk + ": caddy federate, 1 shard (coalesce off)"
				sites.WriteString(federateSite(p, key, "off", be.addrs[:1]))
			case "fed3":
				t.name = bk + ": caddy federate, 3 shards (coalesce off)"
				sites.WriteString(federateSite(p, key, "off", be.addrs))
			case "fed3-co":
				t.name = bk + ": caddy federate, 3 shards, coalesce on"
				sites.WriteString(federateSite(p, key, "on", be.addrs))
			}
			targets = append(targets, t)
		}
	}
	c, err := startCaddy(ctx, bin, dir, sites.String(), adminPort)
	if err != nil {
		return c, nil, err
	}
	for i := range targets {
		if targets[i].kind != "direct" {
			targets[i].caddyPid = c.p.Cmd.Process.Pid
		}
	}
	// Every target must answer the body with a 200 and hits before any load;
	// several requests each, so a port shared with a stranger shows.
	body := strings.ReplaceAll(o.body, "{{q}}", strings.Join(queryWords[:3], " "))
	for _, t := range targets {
		var code int
		var b []byte
		err := benchproc.WaitFor(ctx, c.p, t.key+" answer", 15*time.Second, func() error {
			code, b, err = do(http.MethodPost, t.url, "application/json", body)
			if err == nil && code != 200 {
				err = fmt.Errorf("%s: %d %.300s", t.key, code, b)
			}
			return err
		})
		if err != nil {
			return c, nil, err
		}
		for range 8 {
			code, b, err = do(http.MethodPost, t.url, "application/json", body)
			if err != nil || code != 200 {
				return c, nil, fmt.Errorf("%s: %d %v %.300s", t.key, code, err, b)
			}
			var ans struct {
				Hits []json.RawMessage `json:"hits"`
			}
			if err := json.Unmarshal(b, &ans); err != nil || len(ans.Hits) == 0 {
				return c, nil, fmt.Errorf("%s: no hits for %s (%v): %.300s", t.key, body, err, b)
			}
			fed := strings.HasPrefix(t.kind, "fed")
			if has := strings.Contains(string(ans.Hits[0]), `"_federation"`); has != fed {
				return c, nil, fmt.Errorf("%s: _federation on the hits is %v, want %v: %.300s", t.key, has, fed, b)
			}
			info.respBytes[t.key], info.hits[t.key] = len(b), len(ans.Hits)
		}
		for _, be := range backends {
			if be.key+label == t.backend && be.esh != nil && t.kind != "fed3-co" {
				if s, err := be.esh[0].lastRequest(); err == nil {
					info.sent[t.key] = s
				}
			}
		}
	}
	return c, targets, nil
}

// pickPort is a free loopback port outside the usual ephemeral range
// (32768–60999), where other processes' "port 0" binds land, so a port
// checked here is less likely to be taken before caddy binds it.
func pickPort(used map[int]bool) (int, error) {
	for range 200 {
		p := 20000 + rand.IntN(12000)
		if used[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		return p, nil
	}
	return benchproc.FreePort()
}

// answers reads caddy_federate_answers_total{route,outcome} from the admin
// endpoint's /metrics.
func (c *caddy) answers() (map[string]map[string]float64, error) {
	code, b, err := do(http.MethodGet, "http://"+c.admin+"/metrics", "", "")
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET /metrics: %d", code)
	}
	out := map[string]map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "caddy_federate_answers_total{")
		if !ok {
			continue
		}
		labels, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		var route, outcome string
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "route":
				route = v
			case "outcome":
				outcome = v
			}
		}
		var f float64
		fmt.Sscanf(val, "%g", &f)
		if out[route] == nil {
			out[route] = map[string]float64{}
		}
		out[route][outcome] += f
	}
	return out, nil
}

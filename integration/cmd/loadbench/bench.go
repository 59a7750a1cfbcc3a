package main

import (
	"context"
	"encoding/json"
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
	url       string // full URL of the search
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
	shardDocs          []int
	sent               map[string]string // what the shard received per target
	respBytes          map[string]int
	hits               map[string]int
	setup, bench       time.Duration
	outcomes           map[string]map[string]float64 // route → outcome → answers
}

func federateSite(port int, name, coalesce string, shards []*shard) string {
	var b strings.Builder
	fmt.Fprintf(&b, "http://127.0.0.1:%d {\n\tfederate {\n\t\tname %s\n\t\tdialect meilisearch\n\t\tcoalesce %s\n", port, name, coalesce)
	for i, s := range shards {
		fmt.Fprintf(&b, "\t\tshard s%d %s {\n\t\t\tdialect meilisearch\n\t\t\tindex docs\n\t\t}\n", i, s.addr)
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
	if !json.Valid([]byte(o.body)) {
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
	esshard, err := benchproc.ESShard(ctx, dir, tmp, o.esshard)
	if err != nil {
		return err
	}
	files, sizes, err := writeCorpus(ctx, tmp, o.docs, 3)
	if err != nil {
		return fmt.Errorf("corpus: %v", err)
	}
	info.shardDocs = sizes
	shards := make([]*shard, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() { shards[i], errs[i] = startShard(ctx, esshard, tmp, fmt.Sprintf("esshard%d", i), files[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	// Free ports can be taken by the other processes of a shared machine
	// between the check and caddy's bind (caddy binds with SO_REUSEPORT, so
	// another SO_REUSEPORT listener on the same port splits its traffic): the
	// fronts are checked, and on a wrong answer caddy restarts on new ports.
	var c *caddy
	var targets []target
	for attempt := 1; ; attempt++ {
		c, targets, err = startFront(ctx, o, bin, filepath.Join(tmp, fmt.Sprintf("caddy%d", attempt)), shards, &info)
		if err == nil {
			break
		}
		if c != nil {
			c.p.Stop()
		}
		if attempt == 3 || ctx.Err() != nil {
			return err
		}
		fmt.Printf("warning: %v; restarting caddy on other ports\n", benchproc.FirstLine(err.Error()))
	}
	script, err := wrkScript(tmp, o.body)
	if err != nil {
		return err
	}
	info.setup = time.Since(t0)
	fmt.Printf("setup in %v: corpus %d Debian packages → shards of %v docs; caddy %s\n",
		info.setup.Round(100*time.Millisecond), o.docs, sizes, bin)
	for _, t := range targets {
		fmt.Printf("  %-8s %s  (%d hits, %d bytes)\n", t.key, t.url, info.hits[t.key], info.respBytes[t.key])
	}
	for _, k := range []string{"direct", "rp", "fed1"} {
		fmt.Printf("  shard0 received from %-6s %s\n", k+":", info.sent[k])
	}
	fmt.Printf("wrk -t %d -c %d -d %v, %d rounds × %d targets, order rotated each round\n",
		o.threads, o.connections, o.duration, o.rounds, len(targets))

	pids := []int{shards[0].p.Cmd.Process.Pid, shards[1].p.Cmd.Process.Pid, shards[2].p.Cmd.Process.Pid}
	caddyPid := c.p.Cmd.Process.Pid
	measure := func(t target, d time.Duration) (measurement, error) {
		var m measurement
		before, err := snapshot(caddyPid, pids)
		if err != nil {
			return m, err
		}
		start := time.Now()
		m.wrk, err = runWrk(ctx, script, t.url, o.threads, o.connections, d)
		m.wall = time.Since(start)
		if err != nil {
			return m, err
		}
		after, err := snapshot(caddyPid, pids)
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
			fmt.Printf("round %d  %-8s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  caddy %6.1f µs/req  shards %6.1f µs/req  errors %d\n",
				round+1, t.key, m.wrk.rps(), m.wrk.P50/1000, m.wrk.P99/1000, m.perReq(m.caddy), m.perReq(m.shards), m.wrk.errors())
		}
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
		prof, err = profileRuns(ctx, o, c, script, tmp, []target{targets[2], targets[1]}, measure)
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

// startFront starts caddy with the proxied targets on fresh ports and checks
// that every target answers the body with hits (federate's with _federation).
func startFront(ctx context.Context, o options, bin, dir string, shards []*shard, info *runInfo) (*caddy, []target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	ports := map[string]int{}
	used := map[int]bool{}
	for _, k := range []string{"rp", "fed1", "fed3", "fed3-co", "admin"} {
		p, err := pickPort(used)
		if err != nil {
			return nil, nil, err
		}
		ports[k], used[p] = p, true
	}
	sites := fmt.Sprintf("http://127.0.0.1:%d {\n\treverse_proxy %s\n}\n", ports["rp"], shards[0].addr) +
		federateSite(ports["fed1"], "fed1", "off", shards[:1]) +
		federateSite(ports["fed3"], "fed3", "off", shards)
	if o.coalesceRow {
		sites += federateSite(ports["fed3-co"], "fed3-co", "on", shards)
	}
	c, err := startCaddy(ctx, bin, dir, sites, ports["admin"])
	if err != nil {
		return c, nil, err
	}
	front := func(k string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", ports[k], searchPath) }
	targets := []target{
		{"direct", "direct to the shard (no caddy)", "http://" + shards[0].addr + searchPath},
		{"rp", "caddy reverse_proxy → shard", front("rp")},
		{"fed1", "caddy federate, 1 shard (coalesce off)", front("fed1")},
		{"fed3", "caddy federate, 3 shards (coalesce off)", front("fed3")},
	}
	if o.coalesceRow {
		targets = append(targets, target{"fed3-co", "caddy federate, 3 shards, coalesce on", front("fed3-co")})
	}
	// Every target must answer the body with a 200 and hits before any load;
	// several requests each, so a port shared with a stranger shows.
	for _, t := range targets {
		var code int
		var b []byte
		err := benchproc.WaitFor(ctx, c.p, t.key+" answer", 15*time.Second, func() error {
			code, b, err = do(http.MethodPost, t.url, "application/json", o.body)
			if err == nil && code != 200 {
				err = fmt.Errorf("%s: %d %.300s", t.key, code, b)
			}
			return err
		})
		if err != nil {
			return c, nil, err
		}
		for range 8 {
			code, b, err = do(http.MethodPost, t.url, "application/json", o.body)
			if err != nil || code != 200 {
				return c, nil, fmt.Errorf("%s: %d %v %.300s", t.key, code, err, b)
			}
			var ans struct {
				Hits []json.RawMessage `json:"hits"`
			}
			if err := json.Unmarshal(b, &ans); err != nil || len(ans.Hits) == 0 {
				return c, nil, fmt.Errorf("%s: no hits for %s (%v): %.300s", t.key, o.body, err, b)
			}
			fed := strings.HasPrefix(t.key, "fed")
			if has := strings.Contains(string(ans.Hits[0]), `"_federation"`); has != fed {
				return c, nil, fmt.Errorf("%s: _federation on the hits is %v, want %v: %.300s", t.key, has, fed, b)
			}
			info.respBytes[t.key], info.hits[t.key] = len(b), len(ans.Hits)
		}
		if t.key != "fed3-co" {
			if s, err := shards[0].lastRequest(); err == nil {
				info.sent[t.key] = s
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

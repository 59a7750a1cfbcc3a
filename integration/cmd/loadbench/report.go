package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one target's medians across rounds.
type row struct {
	t                                 target
	rps, p50, p99, p999               float64 // req/s, ms
	caddyUS, shardsUS, totalUS, wrkUS float64 // CPU µs per request
	busy                              float64 // cores busy (caddy+shards+wrk CPU / wall)
	rpsLo, rpsHi, caddyLo, caddyHi    float64
	errors, requests                  int64
	bytesPerReq                       float64
}

type ratio struct {
	name        string
	med, lo, hi float64
	ofMedians   float64
	target      float64 // 0: none
	atLeast     bool
	note        string
}

type report struct {
	rows   []row
	byKey  map[string]row
	ratios []ratio
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func summarize(o options, targets []target, res map[string][]measurement) report {
	rep := report{byKey: map[string]row{}}
	for _, t := range targets {
		r := row{t: t}
		var rps, p50, p99, p999, cu, su, tu, wu, busy, bpr []float64
		for _, m := range res[t.key] {
			rps = append(rps, m.wrk.rps())
			p50 = append(p50, m.wrk.P50/1000)
			p99 = append(p99, m.wrk.P99/1000)
			p999 = append(p999, m.wrk.P999/1000)
			cu = append(cu, m.perReq(m.caddy))
			su = append(su, m.perReq(m.shards))
			tu = append(tu, m.perReq(m.caddy+m.shards))
			wu = append(wu, m.perReq(m.wrk.CPU))
			busy = append(busy, float64(m.caddy+m.shards+m.wrk.CPU)/float64(m.wall))
			bpr = append(bpr, float64(m.wrk.Bytes)/float64(m.wrk.Requests))
			r.errors += m.wrk.errors()
			r.requests += m.wrk.Requests
		}
		r.rps, r.p50, r.p99, r.p999 = median(rps), median(p50), median(p99), median(p999)
		r.caddyUS, r.shardsUS, r.totalUS, r.wrkUS = median(cu), median(su), median(tu), median(wu)
		r.busy, r.bytesPerReq = median(busy), median(bpr)
		r.rpsLo, r.rpsHi = slices.Min(rps), slices.Max(rps)
		r.caddyLo, r.caddyHi = slices.Min(cu), slices.Max(cu)
		rep.rows = append(rep.rows, r)
		rep.byKey[t.key] = r
	}
	// Ratios are paired within a round: round i of a and round i of b ran
	// within a minute of each other.
	paired := func(name, a, b string, f func(measurement) float64, target float64, atLeast bool, note string) {
		ra, rb := res[a], res[b]
		if len(ra) == 0 || len(rb) == 0 {
			return
		}
		var xs, fa, fb []float64
		for i := range min(len(ra), len(rb)) {
			fa = append(fa, f(ra[i]))
			fb = append(fb, f(rb[i]))
			if f(rb[i]) > 0 {
				xs = append(xs, f(ra[i])/f(rb[i]))
			}
		}
		rt := ratio{name: name, med: median(xs), target: target, atLeast: atLeast, note: note}
		if len(xs) > 0 {
			rt.lo, rt.hi = slices.Min(xs), slices.Max(xs)
		}
		if median(fb) > 0 {
			rt.ofMedians = median(fa) / median(fb)
		}
		rep.ratios = append(rep.ratios, rt)
	}
	rps := func(m measurement) float64 { return m.wrk.rps() }
	caddyCPU := func(m measurement) float64 { return m.perReq(m.caddy) }
	totalCPU := func(m measurement) float64 { return m.perReq(m.caddy + m.shards) }
	// What throughput would be if the run were bound by nothing but CPU:
	// requests per CPU-second of caddy, shards and wrk together.
	cpuBound := func(m measurement) float64 {
		if us := m.perReq(m.caddy + m.shards + m.wrk.CPU); us > 0 {
			return 1 / us
		}
		return 0
	}
	keys := slices.Clone(o.backends)
	if o.before != "" {
		for _, be := range o.backends {
			keys = append(keys, be+"-before")
		}
	}
	for i, be := range keys {
		k := func(kind string) string { return be + "-" + kind }
		// The targets hold on the first backend (by default the fixed one,
		// where only the proxies' own cost shows).
		t1, t3 := 0.0, 0.0
		if i == 0 {
			t1, t3 = 0.85, 0.30
		}
		paired(be+": throughput fed1 / rp", k("fed1"), k("rp"), rps, t1, true, "")
		paired(be+": throughput fed3 / rp", k("fed3"), k("rp"), rps, t3, true, "0.33 is the ceiling: 3 upstream calls")
		paired(be+": CPU-bound throughput fed1 / rp", k("fed1"), k("rp"), cpuBound, 0, true, "1 / (caddy+shards+wrk CPU per request): the machine-noise-free view")
		paired(be+": CPU-bound throughput fed3 / rp", k("fed3"), k("rp"), cpuBound, 0, true, "")
		paired(be+": throughput rp / direct", k("rp"), k("direct"), rps, 0, true, "what a plain proxy hop costs")
		paired(be+": throughput fed3-co / rp", k("fed3-co"), k("rp"), rps, 0, true, "")
		paired(be+": caddy CPU/req fed1 / rp", k("fed1"), k("rp"), caddyCPU, 0, false, "federate's own cost vs a proxy hop")
		paired(be+": caddy CPU/req fed3 / rp", k("fed3"), k("rp"), caddyCPU, 0, false, "3 proxy calls + merge; 3.0 = three proxy hops")
		paired(be+": total CPU/req fed1 / rp", k("fed1"), k("rp"), totalCPU, 0, false, "caddy + shards")
		paired(be+": total CPU/req fed3 / rp", k("fed3"), k("rp"), totalCPU, 0, false, "caddy + shards")
	}
	if o.before != "" {
		for _, be := range o.backends {
			for _, kind := range []string{"rp", "fed1", "fed3"} {
				a, b := be+"-"+kind, be+"-before-"+kind
				paired(be+": throughput "+kind+" after / before", a, b, rps, 0, true, "")
				paired(be+": caddy CPU/req "+kind+" after / before", a, b, caddyCPU, 0, false, "")
			}
		}
	}
	return rep
}

func (rep report) targetsMet() bool {
	for _, r := range rep.ratios {
		if r.target > 0 && r.med < r.target {
			return false
		}
	}
	return true
}

func (rep report) table() string {
	var b strings.Builder
	b.WriteString("| target | req/s | req/s range | p50 ms | p99 ms | p99.9 ms | caddy CPU µs/req | shards CPU µs/req | caddy+shards µs/req | wrk CPU µs/req | cores busy | bytes/resp | errors / requests |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.rows {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f–%.0f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f | %.2f | %.0f | %d / %d |\n",
			r.t.name, r.rps, r.rpsLo, r.rpsHi, r.p50, r.p99, r.p999, r.caddyUS, r.shardsUS, r.totalUS, r.wrkUS,
			r.busy, r.bytesPerReq, r.errors, r.requests)
	}
	return b.String()
}

func (rep report) ratioTable() string {
	var b strings.Builder
	b.WriteString("| ratio | median of per-round ratios | range | ratio of medians | target | verdict | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|---|\n")
	for _, r := range rep.ratios {
		tg, verdict := "–", "–"
		if r.target > 0 {
			tg = fmt.Sprintf("≥ %.2f", r.target)
			verdict = "MET"
			if r.med < r.target {
				verdict = "NOT MET"
			}
		}
		fmt.Fprintf(&b, "| %s | %.3f | %.3f–%.3f | %.3f | %s | %s | %s |\n", r.name, r.med, r.lo, r.hi, r.ofMedians, tg, verdict, r.note)
	}
	return b.String()
}

// profileRuns takes a CPU profile of caddy (admin /debug/pprof/profile)
// during a wrk run on each target, and returns go tool pprof -top (flat and
// cum, 25 nodes) for each.
func profileRuns(ctx context.Context, o options, c *caddy, tmp string, ts []target,
	measure func(target, time.Duration) (measurement, error)) (string, error) {
	var b strings.Builder
	for _, t := range ts {
		file := filepath.Join(tmp, "caddy-"+t.key+".pprof")
		type res struct {
			m   measurement
			err error
		}
		ch := make(chan res, 1)
		go func() {
			m, err := measure(t, time.Duration(o.profileSecs+3)*time.Second)
			ch <- res{m, err}
		}()
		time.Sleep(1500 * time.Millisecond)
		code, body, err := do("GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", c.admin, o.profileSecs), "", "")
		r := <-ch
		if err == nil && code != 200 {
			err = fmt.Errorf("GET /debug/pprof/profile: %d %.200s", code, body)
		}
		if err != nil {
			return b.String(), err
		}
		if r.err != nil {
			return b.String(), r.err
		}
		if err := os.WriteFile(file, body, 0o644); err != nil {
			return b.String(), err
		}
		if o.keep != "" {
			os.MkdirAll(o.keep, 0o755)
			os.WriteFile(filepath.Join(o.keep, filepath.Base(file)), body, 0o644)
		}
		fmt.Fprintf(&b, "\n### caddy CPU profile, %s (%ds during a %ds wrk run: %.0f req/s, caddy %.1f µs/req)\n",
			t.name, o.profileSecs, o.profileSecs+3, r.m.wrk.rps(), r.m.perReq(r.m.caddy))
		sorts := []string{"flat", "cum"}
		if strings.HasPrefix(t.kind, "fed") {
			sorts = append(sorts, "federate")
		}
		for _, sort := range sorts {
			args := []string{"tool", "pprof", "-top", "-nodecount=25"}
			switch sort {
			case "cum":
				args = append(args, "-cum")
			case "federate":
				// Only the plugin's own functions, by cum: where federate's
				// extra time over reverse_proxy starts.
				args = append(args, "-cum", "-show=searchfront/caddy-federate")
			}
			pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			out, err := exec.CommandContext(pctx, "go", append(args, c.p.Cmd.Path, file)...).CombinedOutput()
			cancel()
			if err != nil {
				return b.String(), fmt.Errorf("go tool pprof: %v\n%s", err, out)
			}
			what := "Top 25 by " + sort
			if sort == "federate" {
				what = "The plugin's own functions (-show=searchfront/caddy-federate), top 25 by cum"
			}
			fmt.Fprintf(&b, "\n%s:\n\n```\n%s```\n", what, out)
		}
	}
	return b.String(), nil
}

func markdown(o options, info runInfo, targets []target, rep report, res map[string][]measurement, prof string) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "## Run %s\n\n", info.start.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Command: `cd integration && go run ./cmd/loadbench %s`\n\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "Machine: nproc %d, %s, %s/%s, host %s. Load average (1/5/15 min) %s at the start, %s after the rounds.\n\n",
		runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, host, info.loadStart, info.loadEnd)
	fmt.Fprintf(&b, "Caddy: %s. Corpus: %d Debian packages, hash split into parts of %v docs. Backends: %s.\n",
		info.caddyBin, o.docs, info.shardDocs, strings.Join(o.backends, ", "))
	if info.beforeBin != "" {
		fmt.Fprintf(&b, "Before: %s, a second caddy whose targets (keyed <backend>-before) ran in the same rounds.\n", info.beforeBin)
	}
	if info.note != "" {
		fmt.Fprintf(&b, "**Note:** %s\n", info.note)
	}
	fmt.Fprintf(&b, "Load: `wrk -t %d -c %d -d %v --latency -s post.lua`, POST %s `%s` (keep-alive; {{q}}: a three-word query of its own per request), %d rounds × %d targets, "+
		"order rotated each round; setup %v, rounds %v, whole run %v.\n\n",
		o.threads, o.connections, o.duration, searchPath, o.body, o.rounds, len(targets),
		info.setup.Round(time.Second), info.bench.Round(time.Second), info.end.Sub(info.start).Round(time.Second))
	b.WriteString("Medians across rounds:\n\n")
	b.WriteString(rep.table())
	b.WriteString("\nRatios (each the median of the per-round ratios; range over rounds):\n\n")
	b.WriteString(rep.ratioTable())
	b.WriteString("\nPer round, req/s (caddy CPU µs/req):\n\n| target |")
	for i := range o.rounds {
		fmt.Fprintf(&b, " round %d |", i+1)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", o.rounds) + "\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "| %s |", t.key)
		for _, m := range res[t.key] {
			fmt.Fprintf(&b, " %.0f (%.1f) |", m.wrk.rps(), m.perReq(m.caddy))
		}
		b.WriteString("\n")
	}
	if len(info.loads) > 0 {
		fmt.Fprintf(&b, "\nLoad average after each round: %s.\n", strings.Join(info.loads, "; "))
	}
	if len(info.sent) > 0 {
		b.WriteString("\nWhat the bleve shard received (its `GET /_requests`) for the validation request, per target:\n\n")
		for _, t := range targets {
			if s := info.sent[t.key]; s != "" {
				fmt.Fprintf(&b, "- %s: `%s`\n", t.key, s)
			}
		}
	}
	b.WriteString("\nAnswers (validation request before the rounds): ")
	for i, t := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d hits / %d bytes", t.key, info.hits[t.key], info.respBytes[t.key])
	}
	b.WriteString("\n")
	if len(info.outcomes) > 0 {
		b.WriteString("\nFederate answers during warm-up and rounds (caddy_federate_answers_total): ")
		b.WriteString(outcomeLine(info.outcomes))
		b.WriteString("\n")
	}
	if prof != "" {
		b.WriteString(prof)
	}
	return b.String()
}

func outcomeLine(o map[string]map[string]float64) string {
	var parts []string
	var routes []string
	for r := range o {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, r := range routes {
		if m := o[r]; m != nil {
			parts = append(parts, fmt.Sprintf("%s %.0f complete / %.0f partial / %.0f failed / %.0f client gone (wrk hanging up at the end of a run)",
				r, m["complete"], m["partial"], m["failed"], m["client_gone"]))
		}
	}
	return strings.Join(parts, "; ") + "."
}

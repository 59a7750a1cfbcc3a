package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report is the Markdown table: medians across rounds per scenario.
func report(o options, scs []scenario, results map[string][]roundResult) string {
	type row struct {
		p50, p99, p999, p99lo, p99hi, extra, hedges, won, s0p95, slowShare float64
		errors, partial, n                                                 int
	}
	rows := map[string]row{}
	for _, s := range scs {
		var p50, p99, p999, extra, hedges, won, s0p95, slowShare []float64
		var r row
		for _, rr := range results[s.key] {
			p50 = append(p50, ms(q(rr.lat, 0.5)))
			p99 = append(p99, ms(q(rr.lat, 0.99)))
			p999 = append(p999, ms(q(rr.lat, 0.999)))
			extra = append(extra, extraPct(rr, o.requests))
			hedges = append(hedges, 100*rr.hedgesSent/float64(nShards*o.requests))
			won = append(won, rr.won)
			s0p95 = append(s0p95, ms(q(rr.s0, 0.95)))
			slowShare = append(slowShare, 100*rr.slowReplicaShare)
			r.errors += rr.errors
			r.partial += rr.partial
			r.n++
		}
		r.p50, r.p99, r.p999 = median(p50), median(p99), median(p999)
		r.extra, r.hedges, r.won, r.s0p95, r.slowShare = median(extra), median(hedges), median(won), median(s0p95), median(slowShare)
		if len(p99) > 0 {
			r.p99lo, r.p99hi = minf(p99), maxf(p99)
		}
		rows[s.key] = r
	}
	base := rows["a"].p99
	var b strings.Builder
	b.WriteString("| scenario | p50 ms | p99 ms | p99.9 ms | p99 range ms | extra upstream req % | hedges sent % | hedges won | s0 shard p95 ms | p99 / baseline p99 | errors / partial |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range scs {
		r := rows[s.key]
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f×", r.p99/base)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.1f | %.1f–%.1f | %.2f | %.2f | %.0f | %.1f | %s | %d / %d |\n",
			s.name, r.p50, r.p99, r.p999, r.p99lo, r.p99hi, r.extra, r.hedges, r.won, r.s0p95, ratio, r.errors, r.partial)
	}
	b.WriteString("\nTarget (p99 ≤ 1.3 × baseline p99 with ≤ 5 % extra upstream requests):\n")
	for _, s := range scs {
		k := s.key
		r := rows[k]
		if base <= 0 || k == "a" || k == "b" {
			continue
		}
		ratio := r.p99 / base
		verdict := "MET"
		var why []string
		if ratio > 1.3 {
			why = append(why, fmt.Sprintf("p99 ratio %.2f > 1.3", ratio))
		}
		if r.extra > 5 {
			why = append(why, fmt.Sprintf("extra requests %.2f %% > 5 %%", r.extra))
		}
		if len(why) > 0 {
			verdict = "NOT MET (" + strings.Join(why, "; ") + ")"
		}
		fmt.Fprintf(&b, "- %s: p99 %.2f× baseline, %.2f %% extra upstream requests: %s\n", s.name, ratio, r.extra, verdict)
	}
	return b.String()
}

func minf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func writeMarkdown(o options, table string, bench, total time.Duration) error {
	nproc, _ := exec.Command("nproc").Output()
	var b strings.Builder
	fmt.Fprintf(&b, "## Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Command: `cd integration && go run ./cmd/tailbench %s`\n\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "Machine: nproc %s, %s, %s/%s, load average at the end `%s`\n\n",
		strings.TrimSpace(string(nproc)), cpuModel(), runtime.GOOS, runtime.GOARCH, loadavg())
	fmt.Fprintf(&b, "Settings: %d rounds, %d measured (+%d warm-up) requests per scenario and round, %d clients, "+
		"%d docs per shard, slow replica slow_share %g slow_ms %d. Rounds took %v, whole run %v.\n\n",
		o.rounds, o.requests, o.warmup, o.concurrency, o.docs, o.slowShare, o.slowMS,
		bench.Round(time.Second), total.Round(time.Second))
	b.WriteString(table)
	return os.WriteFile(o.md, []byte(b.String()), 0o644)
}

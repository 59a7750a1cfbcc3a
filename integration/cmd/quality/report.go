package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/searchfront/caddy-federate/merge"
)

type report struct {
	cfg        config
	docs       int
	withBody   int
	queries    []query
	judged     int
	splitSizes []string
	agreement  []pair
	settings   []setting
	started    time.Time
	elapsed    time.Duration
}

func machine() string {
	host, _ := os.Hostname()
	uname, _ := exec.Command("uname", "-srm").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	l := strings.Fields(string(load))
	if len(l) > 3 {
		l = l[:3]
	}
	return fmt.Sprintf("%s, %s, %d cores (GOMAXPROCS %d), %s, load average at the end %s",
		host, strings.TrimSpace(string(uname)), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), strings.Join(l, " "))
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Merge quality: %s\n\n", r.started.UTC().Format("2006-01-02 15:04 UTC"))
	p("- command: `cd integration && go run ./cmd/quality %s`\n", strings.Join(os.Args[1:], " "))
	p("- machine: %s\n", machine())
	p("- run time: %v\n", r.elapsed.Round(time.Second))
	p("- corpus: %d Debian packages (%d with a long description from Translation-en); shard sizes: %s\n",
		r.docs, r.withBody, strings.Join(r.splitSizes, "; "))
	kinds := map[string]int{}
	for _, q := range r.queries {
		kinds[q.Kind]++
	}
	p("- queries: %d (", len(r.queries))
	first := true
	for _, k := range []string{"tag", "title", "file"} {
		if kinds[k] > 0 {
			if !first {
				p(", ")
			}
			first = false
			p("%d %s", kinds[k], map[string]string{"tag": "debtags tag descriptions", "title": "title-derived keyword queries", "file": "from -queries"}[k])
		}
	}
	p("); %d judged by debtags. Each shard and each centralized index returns its top %d (ids and scores); merge.Merge fuses them (dedupe on, limit 10).\n", r.judged, r.cfg.k)
	p("- metrics, averaged over the queries whose reference found at least one hit: overlap@10 = |fused top 10 ∩ central top 10| / min(10, |central|); RBO p=0.9 extrapolated over the top 10; nDCG@10 against the central top 10 (gain 10 … 1 by central rank); nDCG@10 against debtags (binary, over the judged queries; it does not depend on the reference); exact = queries whose fused top 10 equals the central top 10 in order; worst = lowest overlap@10.\n")
	p("- auto and calibrated: one merge.Auto per setting, warmed with Observe on every query's shard lists; then, for each query in turn, Refresh, merge, Observe that query. The ring keeps each shard's last 100 answers, so a query is merged with the history of the 100 queries before it (cyclically), never with its own answer (unless there are 100 queries or fewer).\n\n")

	// Summary.
	p("### overlap@10 against the centralized index\n\n| split | shards | reference |")
	for _, st := range strategies {
		p(" %s |", st.Name)
	}
	p(" best | rrf − best | auto − best | auto, split declared − best | auto chose (KS distance D, scale gap G) |\n|---|---|---|")
	for range strategies {
		p("---|")
	}
	p("---|---|---|---|---|\n")
	type verdict struct{ rrfOK, autoOK, declaredOK int }
	var v verdict
	total := 0
	within := make([]int, len(strategies)) // rows within 0.01 of the best, per strategy
	for _, s := range r.settings {
		for _, ref := range s.Refs {
			rows := s.Rows[ref]
			p("| %s | %s | %s |", s.Split, s.Label, engineNames[ref])
			best, bestName := -1.0, ""
			var rrfV, autoV, declV float64
			var bestRow, rrfRow, autoRow, declRow row
			for _, x := range rows {
				if x.Overlap > best+1e-12 {
					best, bestName, bestRow = x.Overlap, x.Strategy, x
				}
				switch x.Strategy {
				case "rrf k=60":
					rrfV, rrfRow = x.Overlap, x
				case "auto":
					autoV, autoRow = x.Overlap, x
				case autoDeclared:
					declV, declRow = x.Overlap, x
				}
			}
			for i, x := range rows {
				if best-x.Overlap <= 0.01+1e-12 {
					within[i]++
				}
				if math.Abs(x.Overlap-best) < 1e-12 {
					p(" **%.3f** |", x.Overlap)
				} else {
					p(" %.3f |", x.Overlap)
				}
			}
			total++
			if best-rrfV <= 0.01+1e-12 {
				v.rrfOK++
			}
			if best-autoV <= 0.01+1e-12 {
				v.autoOK++
			}
			if best-declV <= 0.01+1e-12 {
				v.declaredOK++
			}
			p(" %s | %+.3f ± %.3f | %+.3f ± %.3f | %+.3f ± %.3f | %s |\n", bestName, rrfV-best, pairedSE(rrfRow, bestRow),
				autoV-best, pairedSE(autoRow, bestRow), declV-best, pairedSE(declRow, bestRow), s.autoChose())
		}
	}
	p("\n± is the paired standard error over the queries of the difference to the best strategy.\n")
	p("\nWithin 0.01 overlap@10 of the best strategy: rrf in %d of %d rows, auto (the default) in %d of %d rows, auto with the split declared (`split topical` on the section split) in %d of %d rows.\n\n",
		v.rrfOK, total, v.autoOK, total, v.declaredOK, total)
	var per []string
	for i, st := range strategies {
		per = append(per, fmt.Sprintf("%s %d/%d", st.Name, within[i], total))
	}
	p("Rows within 0.01 of the best, per strategy: %s.\n\n", strings.Join(per, ", "))

	if len(r.agreement) > 0 {
		p("### Agreement of the centralized engines with each other (ceiling for a mixed fleet)\n\n| A | B | overlap@10 | RBO |\n|---|---|---|---|\n")
		for _, a := range r.agreement {
			p("| %s | %s | %.3f | %.3f |\n", engineNames[a.A], engineNames[a.B], a.Overlap, a.RBO)
		}
		p("\n")
	}

	p("### All metrics\n\n")
	for _, s := range r.settings {
		for _, ref := range s.Refs {
			rows := s.Rows[ref]
			n, nj := 0, 0
			if len(rows) > 0 {
				n, nj = rows[0].N, rows[0].NJudged
			}
			p("#### %s split, %s, against centralized %s (%d queries, %d judged)\n\n", s.Split, s.Label, engineNames[ref], n, nj)
			p("| strategy | overlap@10 | RBO | nDCG@10 central | nDCG@10 debtags | exact top 10 | worst query (overlap@10) |\n|---|---|---|---|---|---|---|\n")
			for _, x := range rows {
				name := x.Strategy
				if name == "auto" {
					name = "auto → " + s.autoChose()
				}
				p("| %s | %.3f | %.3f | %.3f | %.3f | %d | %.1f %q |\n", name, x.Overlap, x.RBO, x.NDCG, x.Judg, x.Exact, x.Worst, x.WorstQ)
			}
			p("| centralized %s | 1 | 1 | 1 | %.3f | %d | |\n\n", engineNames[ref], s.CentralJudged[ref], n)
		}
	}
	return b.String()
}

// autoChose is what auto applied over the queries, e.g. "calibrated 300
// (KS 0.31–0.34)" or "raw 290, calibrated 10 (KS 0.18–0.21)".
func (s *setting) autoChose() string {
	var parts []string
	for _, st := range []merge.Strategy{merge.Raw, merge.Calibrated, merge.RRF} {
		if n := s.AutoChoices[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, n))
		}
	}
	for st, n := range s.AutoChoices {
		if st != merge.Raw && st != merge.Calibrated && st != merge.RRF {
			parts = append(parts, fmt.Sprintf("%s %d", st, n))
		}
	}
	return fmt.Sprintf("%s (D %.3f–%.3f, G %.3f–%.3f)", strings.Join(parts, ", "), s.AutoDistMin, s.AutoDistMax, s.AutoGapMin, s.AutoGapMax)
}

// pairedSE is the standard error of the mean per-query difference of
// overlap@10 between a and b (0 when they agree on every query).
func pairedSE(a, b row) float64 {
	var d []float64
	for i := range a.PerQ {
		if i < len(b.PerQ) && a.PerQ[i] == a.PerQ[i] && b.PerQ[i] == b.PerQ[i] {
			d = append(d, a.PerQ[i]-b.PerQ[i])
		}
	}
	if len(d) < 2 {
		return 0
	}
	mean := 0.0
	for _, x := range d {
		mean += x
	}
	mean /= float64(len(d))
	ss := 0.0
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(d)-1)) / math.Sqrt(float64(len(d)))
}

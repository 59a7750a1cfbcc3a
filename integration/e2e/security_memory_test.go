package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/searchfront/caddy-federate/integration/harness"
)

// TestSecurityPeakMemory measures Caddy's peak resident memory (VmHWM)
// under the two loads of issue 12: one Typesense multi_search of 2,000
// searches, and 30 concurrent requests for the largest window (1,000 hits)
// over 4 shards. It only runs with FEDERATE_MEMORY=1 (a measurement, not a
// check); FEDERATE_CADDY=<binary> measures another build (e.g. main's).
func TestSecurityPeakMemory(t *testing.T) {
	if os.Getenv("FEDERATE_MEMORY") != "1" {
		t.Skip("a measurement: set FEDERATE_MEMORY=1")
	}
	bin := os.Getenv("FEDERATE_CADDY")
	if bin == "" {
		bin = federateBin(t)
	}
	docs := corpus1000(t)
	var shards []*harness.Shard
	for i := 0; i < 4; i++ {
		shards = append(shards, harness.StartESShard(t, harness.ShardOptions{Name: fmt.Sprintf("mem%d", i), Docs: docs, NoGzip: true}))
	}
	lines := func(extra string) string {
		var b strings.Builder
		for i, s := range shards {
			fmt.Fprintf(&b, "\t\tshard s%d %s {\n\t\t\tdialect meilisearch\n\t\t\tindex docs\n%s\t\t}\n", i, s.Addr, extra)
		}
		return b.String()
	}
	run := func(name, route, body string, clients int) {
		port := harness.FreePort(t)
		c := harness.StartCaddy(t, harness.CaddyOptions{Bin: bin, Sites: fmt.Sprintf("http://:%d {\n%s\n}\n", port, route)})
		base := hwm(t, c.Proc.Cmd.Process.Pid)
		url := "http://" + harness.Addr(port)
		var wg sync.WaitGroup
		codes := make([]int, clients)
		start := time.Now()
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				codes[i], _, _ = send(t, url+pathOf(route), body)
			}(i)
		}
		wg.Wait()
		peak := hwm(t, c.Proc.Cmd.Process.Pid)
		t.Logf("%s: VmHWM %d MiB before, %d MiB peak; statuses %v; %v", name, base>>10, peak>>10, summarize(codes), time.Since(start).Round(time.Millisecond))
		_ = c.Stop()
	}
	searches := make([]string, 2000)
	for i := range searches {
		searches[i] = fmt.Sprintf(`{"collection":"docs","q":"package %d"}`, i)
	}
	run("typesense multi_search, 2000 searches", "\tfederate /multi_search {\n\t\tdialect typesense\n\t\ttimeout 60s\n"+lines("")+"\t}",
		`{"searches":[`+strings.Join(searches, ",")+`]}`, 1)
	run("30 concurrent 1000-hit windows over 4 shards", "\tfederate /indexes/* {\n\t\tdialect meilisearch\n\t\tcoalesce off\n\t\ttimeout 60s\n"+lines("")+"\t}",
		`{"q":"","limit":1000}`, 30)
}

func pathOf(route string) string {
	if strings.Contains(route, "/multi_search") {
		return "/multi_search"
	}
	return "/indexes/docs/search"
}

func summarize(codes []int) map[int]int {
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}

// hwm reads a process's peak resident set size (VmHWM) in KiB.
func hwm(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

package main

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/searchfront/caddy-federate/integration/corpus"
)

// query is one search; Tag is its debtags judgment ("" = unjudged).
type query struct {
	Text string
	Tag  string
	Kind string // "tag", "title" or "file"
}

const vocabularyPath = "/usr/share/debtags/vocabulary"

// vocabulary maps each debtags tag to the first line of its description.
func vocabulary(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%v (apt-get install -y debtags ships it)", err)
	}
	defer f.Close()
	out := map[string]string{}
	tag := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			tag = ""
		case strings.HasPrefix(line, "Tag:"):
			tag = strings.TrimSpace(strings.TrimPrefix(line, "Tag:"))
		case strings.HasPrefix(line, "Description:") && tag != "":
			out[tag] = strings.TrimSpace(strings.TrimPrefix(line, "Description:"))
		}
	}
	return out, sc.Err()
}

func hashOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// tagQueries picks up to n tags carried by at least minRel documents of the
// corpus, by a hash of the tag (stable, spread over the facets), one query per
// distinct description.
func tagQueries(vocab map[string]string, rel map[string]int, n, minRel int) []query {
	var tags []string
	for tag := range vocab {
		if rel[tag] >= minRel {
			tags = append(tags, tag)
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		hi, hj := hashOf(tags[i]), hashOf(tags[j])
		if hi != hj {
			return hi < hj
		}
		return tags[i] < tags[j]
	})
	seen := map[string]bool{}
	var out []query
	for _, tag := range tags {
		d := vocab[tag]
		if len(out) == n {
			break
		}
		if seen[strings.ToLower(d)] || len(words(d)) == 0 {
			continue
		}
		seen[strings.ToLower(d)] = true
		out = append(out, query{Text: d, Tag: tag, Kind: "tag"})
	}
	return out
}

var stop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by for from in into is it its of on or the to with
		without via using based your you this that which all any can other tool tools library libraries package
		packages data files file support utility utilities program programs module modules development version
		transitional dummy common shared documentation doc docs binary binaries plugin plugins extension`) {
		stop[w] = true
	}
}

// titleQueries derives up to n keyword queries (two or three content words)
// from the titles of documents picked by hash.
func titleQueries(docs []corpus.Doc, n int) []query {
	idx := make([]int, len(docs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return hashOf("q:"+docs[idx[a]].ID) < hashOf("q:"+docs[idx[b]].ID) })
	seen := map[string]bool{}
	var out []query
	for _, i := range idx {
		if len(out) == n {
			break
		}
		var kw []string
		for _, w := range words(docs[i].Title) {
			if len(w) >= 3 && !stop[w] && !strings.ContainsAny(w, "0123456789") {
				kw = append(kw, w)
			}
			if len(kw) == 3 {
				break
			}
		}
		if len(kw) < 2 {
			continue
		}
		q := strings.Join(kw, " ")
		if seen[q] {
			continue
		}
		seen[q] = true
		out = append(out, query{Text: q, Kind: "title"})
	}
	return out
}

// fileQueries reads one query per line. A line equal to a tag description
// (case-insensitive) is judged by that tag when, as for tagQueries, at least
// minRel documents of the corpus carry it (of several tags with that
// description, the one most documents carry); a tag no document carries has
// no ideal ranking, and its nDCG would be NaN. unjudged counts the
// description lines left unjudged for that reason.
func fileQueries(path string, vocab map[string]string, rel map[string]int, minRel int) (qs []query, unjudged int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	byDesc := map[string]string{}
	for tag, d := range vocab {
		k := strings.ToLower(d)
		if old, ok := byDesc[k]; !ok || rel[tag] > rel[old] || rel[tag] == rel[old] && tag < old {
			byDesc[k] = tag
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q := query{Text: line, Kind: "file"}
		if tag, ok := byDesc[strings.ToLower(line)]; ok {
			if rel[tag] >= max(minRel, 1) {
				q.Tag = tag
			} else {
				unjudged++
			}
		}
		qs = append(qs, q)
	}
	return qs, unjudged, nil
}

// debtagsNDCG is the mean binary nDCG@10 against debtags over the judged
// queries (ranked[i] is the top 10 for qs[i]) and how many there are.
func debtagsNDCG(ranked [][]string, qs []query, tagsOf map[string]map[string]bool, rel map[string]int) (float64, int) {
	sum, n := 0.0, 0
	for qi, q := range qs {
		if q.Tag == "" {
			continue
		}
		v := ndcgBinary(ranked[qi], func(id string) bool { return tagsOf[id][q.Tag] }, rel[q.Tag], 10)
		if v != v { // no document carries the tag: not judged
			continue
		}
		sum, n = sum+v, n+1
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}

// Package corpus builds the integration suite's documents from the Debian
// archive on the machine: every package in `apt-cache dumpavail` becomes a
// document (id: package name, title: short description, body: long
// description from the Translation-en lists when present, section, debtags).
// The corpus is built at run time and never committed.
package corpus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Doc is one package.
type Doc struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Section string   `json:"section"`
	Tags    []string `json:"tags,omitempty"`
}

// Options choose the slice of the archive.
type Options struct {
	// N is the number of documents; 0 means every package.
	N int
	// Long adds long descriptions (Body) from the Translation-en lists;
	// without them, or for packages they lack, Body is empty.
	Long bool
	// ListsDir is apt's lists directory (default /var/lib/apt/lists).
	ListsDir string
}

// Build reads the archive and returns N packages chosen by a hash of their
// name (a stable, alphabet-wide sample), sorted by id.
func Build(ctx context.Context, o Options) ([]Doc, error) {
	docs, err := archive(ctx)
	if err != nil {
		return nil, err
	}
	docs = Sample(docs, o.N)
	if o.Long {
		dir := o.ListsDir
		if dir == "" {
			dir = "/var/lib/apt/lists"
		}
		long, err := LongDescriptions(ctx, dir)
		if err != nil {
			return nil, err
		}
		for i := range docs {
			docs[i].Body = long[docs[i].ID]
		}
	}
	return docs, nil
}

var (
	archiveMu   sync.Mutex
	archiveDocs []Doc
)

// archive parses apt-cache dumpavail once per process: it takes seconds.
func archive(ctx context.Context) ([]Doc, error) {
	archiveMu.Lock()
	defer archiveMu.Unlock()
	if archiveDocs != nil {
		return archiveDocs, nil
	}
	out, err := exec.CommandContext(ctx, "apt-cache", "dumpavail").Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache dumpavail: %v", err)
	}
	docs, err := Parse(bytes.NewReader(out))
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("apt-cache dumpavail listed no packages: run apt-get update")
	}
	archiveDocs = docs
	return docs, nil
}

// Sample keeps n documents ordered by hash of id, then sorts them by id.
func Sample(docs []Doc, n int) []Doc {
	out := append([]Doc(nil), docs...)
	if n > 0 && n < len(out) {
		sort.Slice(out, func(i, j int) bool { return hash(out[i].ID) < hash(out[j].ID) })
		out = out[:n]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Parse reads Debian control stanzas (apt-cache dumpavail); the first stanza
// of a package wins.
func Parse(r io.Reader) ([]Doc, error) {
	var docs []Doc
	seen := map[string]bool{}
	err := stanzas(r, func(f map[string]string) {
		name := f["Package"]
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		title, _, _ := strings.Cut(f["Description"], "\n")
		section := f["Section"]
		if i := strings.LastIndexByte(section, '/'); i >= 0 {
			section = section[i+1:] // contrib/games → games
		}
		docs = append(docs, Doc{ID: name, Title: strings.TrimSpace(title), Section: section, Tags: tags(f["Tag"])})
	})
	return docs, err
}

func tags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// LongDescriptions maps package names to long descriptions from every
// *Translation-en* list in dir (apt-get update -o Acquire::Languages=en
// fetches them), read with apt-helper since they are stored compressed.
func LongDescriptions(ctx context.Context, dir string) (map[string]string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*Translation-en*"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no Translation-en lists in %s: run apt-get update -o Acquire::Languages=en", dir)
	}
	long := map[string]string{}
	for _, f := range files {
		out, err := exec.CommandContext(ctx, "/usr/lib/apt/apt-helper", "cat-file", f).Output()
		if err != nil {
			return nil, fmt.Errorf("apt-helper cat-file %s: %v", f, err)
		}
		err = stanzas(bytes.NewReader(out), func(s map[string]string) {
			if _, done := long[s["Package"]]; done {
				return
			}
			_, body, _ := strings.Cut(s["Description-en"], "\n")
			long[s["Package"]] = body
		})
		if err != nil {
			return nil, err
		}
	}
	return long, nil
}

// stanzas calls fn with each stanza's fields. A multi-line field keeps its
// first line, then its continuation lines joined by newlines; a " ." line is
// a paragraph break.
func stanzas(r io.Reader, fn func(map[string]string)) error {
	keep := map[string]bool{"Package": true, "Description": true, "Description-en": true, "Section": true, "Tag": true}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	f := map[string]string{}
	var key string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(f) > 0 {
				fn(f)
			}
			f, key = map[string]string{}, ""
		case line[0] == ' ' || line[0] == '\t':
			if key == "" {
				continue
			}
			cont := strings.TrimSpace(line)
			if cont == "." {
				cont = ""
			}
			f[key] += "\n" + cont
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			if key = k; !keep[k] {
				key = ""
				continue
			}
			f[k] = strings.TrimSpace(v)
		}
	}
	if len(f) > 0 {
		fn(f)
	}
	return sc.Err()
}

// SplitHash deals docs into k shards by a hash of id: a random split.
func SplitHash(docs []Doc, k int) [][]Doc {
	out := make([][]Doc, k)
	for _, d := range docs {
		i := hash("shard:"+d.ID) % uint64(k)
		out[i] = append(out[i], d)
	}
	return out
}

// SplitSection packs whole Debian sections into k shards, largest section
// first into the smallest shard: a topical split of balanced size.
func SplitSection(docs []Doc, k int) [][]Doc {
	by := map[string][]Doc{}
	var names []string
	for _, d := range docs {
		if _, ok := by[d.Section]; !ok {
			names = append(names, d.Section)
		}
		by[d.Section] = append(by[d.Section], d)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(by[names[i]]) != len(by[names[j]]) {
			return len(by[names[i]]) > len(by[names[j]])
		}
		return names[i] < names[j]
	})
	out := make([][]Doc, k)
	for _, name := range names {
		small := 0
		for i := range out {
			if len(out[i]) < len(out[small]) {
				small = i
			}
		}
		out[small] = append(out[small], by[name]...)
	}
	return out
}

// WriteJSONL writes one document per line.
func WriteJSONL(w io.Writer, docs []Doc) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes docs as JSONL to path.
func WriteFile(path string, docs []Doc) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteJSONL(fh, docs); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// ReadJSONL reads documents written by WriteJSONL.
func ReadJSONL(r io.Reader) ([]Doc, error) {
	var docs []Doc
	dec := json.NewDecoder(r)
	for {
		var d Doc
		if err := dec.Decode(&d); err == io.EOF {
			return docs, nil
		} else if err != nil {
			return docs, err
		}
		docs = append(docs, d)
	}
}

// Words returns n distinct words (three letters or more, punctuation
// trimmed, lower case) of the documents' titles and bodies, in corpus
// order: a query set for benchmarks and tests.
func Words(docs []Doc, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		for _, w := range strings.Fields(strings.ToLower(d.Title + " " + d.Body)) {
			w = strings.Trim(w, ".,;:()[]{}\"'`<>")
			if len(w) < 3 || seen[w] {
				continue
			}
			seen[w] = true
			out = append(out, w)
			if len(out) == n {
				return out
			}
		}
	}
	return out
}

package main

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
)

// runT lets a command use the integration harness, whose functions take a
// testing.TB: it keeps cleanups (stopping the engines), temporary
// directories, and turns Fatal and Skip into a panic the command recovers
// from. Methods the harness does not call fall through to the nil embedded
// interface and would panic.
type runT struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

// abort is the panic value of Fatal, FailNow and Skip.
type abort struct{ msg string }

func newRunT(name string) *runT { return &runT{name: name} }

func (t *runT) Helper()      {}
func (t *runT) Name() string { return t.name }
func (t *runT) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}
func (t *runT) Log(args ...any)                 { log.Print(append([]any{t.name + ": "}, args...)...) }
func (t *runT) Logf(format string, args ...any) { log.Printf(t.name+": "+format, args...) }
func (t *runT) Error(args ...any)               { t.Fail(); t.Log(args...) }
func (t *runT) Errorf(format string, args ...any) {
	t.Fail()
	t.Logf(format, args...)
}
func (t *runT) Fail() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}
func (t *runT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}
func (t *runT) FailNow()          { t.Fail(); panic(abort{t.name + ": FailNow"}) }
func (t *runT) Fatal(args ...any) { t.Fail(); panic(abort{fmt.Sprint(args...)}) }
func (t *runT) Fatalf(format string, args ...any) {
	t.Fail()
	panic(abort{fmt.Sprintf(format, args...)})
}
func (t *runT) Skip(args ...any) { t.Fail(); panic(abort{"skip: " + fmt.Sprint(args...)}) }
func (t *runT) Skipf(format string, args ...any) {
	t.Fail()
	panic(abort{"skip: " + fmt.Sprintf(format, args...)})
}
func (t *runT) SkipNow()      { t.Skip("SkipNow") }
func (t *runT) Skipped() bool { return false }
func (t *runT) TempDir() string {
	d, err := os.MkdirTemp("", "quality-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
func (t *runT) Setenv(k, v string) { os.Setenv(k, v) }

// close runs the cleanups, last registered first.
func (t *runT) close() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// guard runs f and turns a harness abort into an error.
func guard(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if a, ok := r.(abort); ok {
				err = fmt.Errorf("%s", a.msg)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

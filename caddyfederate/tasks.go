package caddyfederate

// tasks.go is the federate task store for Meilisearch writes: one taskUid
// answered to the client stands for the task of every shard replica the
// write went to. The store is package-level, so task ids and their parts
// survive config reloads, including reloads that change the shard set.
// It is per process: with several Caddy instances behind a load balancer,
// a client must read a task from the instance that answered the write
// (another answers task_not_found).

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
)

// maxTasks is how many tasks the store keeps; older ones are forgotten
// (task_not_found), as Meilisearch prunes its own task queue.
const maxTasks = 10000

// Meilisearch task statuses.
const (
	taskEnqueued   = "enqueued"
	taskProcessing = "processing"
	taskSucceeded  = "succeeded"
	taskFailed     = "failed"
	taskCanceled   = "canceled"
)

// task is one federate task.
type task struct {
	uid      int64
	route    string
	index    string
	typ      string
	routed   bool // per-document parts: their details add up
	enqueued time.Time
	deadline time.Time // parts not finished by then have failed
	base     *http.Request
	done     chan struct{} // closed when the task is terminal

	mu       sync.Mutex // guards what follows
	parts    []taskPart
	finished time.Time
	started  time.Time
}

// taskPart is one shard replica's task.
type taskPart struct {
	shard    string
	replica  int // position among the shard's replicas, from 0
	replicas int
	addr     string
	remote   int64 // the replica's taskUid; -1 when the part never reached it
	status   string
	err      *dialect.MeiliTaskError
	details  json.RawMessage
}

func (tp *taskPart) terminal() bool {
	return tp.status == taskSucceeded || tp.status == taskFailed || tp.status == taskCanceled
}

// where names the part for clients: shard and replica position, never the
// address.
func (tp *taskPart) where() string {
	return "shard " + strconv.Quote(tp.shard) + " replica " + strconv.Itoa(tp.replica+1) + " of " + strconv.Itoa(tp.replicas)
}

var tasks = struct {
	sync.Mutex
	next  int64
	m     map[int64]*task
	order []int64 // oldest first
}{m: map[int64]*task{}}

// addTask stores t under a new uid.
func addTask(t *task) {
	tasks.Lock()
	defer tasks.Unlock()
	t.uid = tasks.next
	tasks.next++
	tasks.m[t.uid] = t
	tasks.order = append(tasks.order, t.uid)
	if len(tasks.order) > maxTasks {
		delete(tasks.m, tasks.order[0])
		tasks.order = tasks.order[1:]
	}
}

func getTask(uid int64) *task {
	tasks.Lock()
	defer tasks.Unlock()
	return tasks.m[uid]
}

// aggregate is a task's status from its parts: enqueued or processing
// while any part is (processing once any part has started or finished),
// succeeded when every part succeeded, failed when any failed (the first
// failed part, in shard and replica order, is returned), canceled when
// the rest succeeded and one was canceled.
func aggregate(parts []taskPart) (status string, failed int) {
	failed = -1
	var pending, started, canceled bool
	for i := range parts {
		switch parts[i].status {
		case taskEnqueued:
			pending = true
		case taskProcessing:
			pending, started = true, true
		case taskSucceeded:
			started = true
		case taskCanceled:
			started, canceled = true, true
		default:
			started = true
			if failed < 0 {
				failed = i
			}
		}
	}
	switch {
	case pending && started:
		return taskProcessing, -1
	case pending:
		return taskEnqueued, -1
	case failed >= 0:
		return taskFailed, failed
	case canceled:
		return taskCanceled, -1
	}
	return taskSucceeded, -1
}

// object renders the task as Meilisearch's task object.
func (t *task) object() dialect.MeiliTask {
	t.mu.Lock()
	defer t.mu.Unlock()
	status, failed := aggregate(t.parts)
	mt := dialect.MeiliTask{UID: t.uid, Status: status, Type: t.typ, EnqueuedAt: dialect.MeiliTime(t.enqueued),
		Details: t.details()}
	if t.index != "" {
		idx := t.index
		mt.IndexUID = &idx
	}
	if status != taskEnqueued {
		s := dialect.MeiliTime(t.started)
		mt.StartedAt = &s
	}
	if status == taskSucceeded || status == taskFailed || status == taskCanceled {
		if t.finished.IsZero() {
			t.finished = time.Now()
		}
		f, d := dialect.MeiliTime(t.finished), dialect.MeiliDuration(t.finished.Sub(t.started))
		mt.FinishedAt, mt.Duration = &f, &d
	}
	if failed >= 0 {
		tp := &t.parts[failed]
		e := dialect.MeiliTaskError{Code: "federate_part_failed", Type: "system",
			Link: "https://www.meilisearch.com/docs/reference/errors/error_codes"}
		msg := "the write did not finish"
		if tp.err != nil {
			msg, e.Type, e.Link = tp.err.Message, tp.err.Type, tp.err.Link
			if tp.err.Code != "" {
				e.Code = tp.err.Code
			}
		}
		e.Message = tp.where() + ": " + msg
		mt.Error = &e
	}
	return mt
}

// details merges the parts' details: a routed write's numbers add up over
// shards (first replica of each); a whole-request write's details are any
// one part's.
func (t *task) details() json.RawMessage {
	var sum map[string]any
	for i := range t.parts {
		tp := &t.parts[i]
		if tp.replica != 0 || len(tp.details) == 0 {
			continue
		}
		var d map[string]any
		if json.Unmarshal(tp.details, &d) != nil {
			continue
		}
		if sum == nil {
			sum = d
			if !t.routed {
				break
			}
			continue
		}
		for k, v := range d {
			if a, ok := sum[k].(float64); ok {
				if b, ok := v.(float64); ok {
					sum[k] = a + b
				}
			}
		}
	}
	if sum == nil {
		return json.RawMessage("{}")
	}
	b, _ := json.Marshal(sum)
	return b
}

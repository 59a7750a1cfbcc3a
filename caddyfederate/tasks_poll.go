package caddyfederate

// tasks_poll.go answers Meilisearch writes with a federate task, follows
// every part's task on its replica until all are done (or the write
// timeout passes), and serves GET /tasks/{uid} and GET /tasks.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/searchfront/caddy-federate/dialect"
)

// meiliWriteAnswer stores the write's task and answers its summary (202),
// or the engines' own error when every replica refused the write as a bad
// request. pending is closed once the task has ended.
func (h *Handler) meiliWriteAnswer(p *parentState, wr *dialect.Write, out *writeOutcome, pending chan struct{}) *answer {
	if ans := refusedByAll(out); ans != nil {
		close(pending)
		return ans
	}
	now := time.Now()
	t := &task{route: h.name(), index: wr.Index, typ: wr.Type, routed: wr.Kind == dialect.WriteRouted,
		enqueued: now, started: now, deadline: now.Add(h.writes.timeout)}
	for i := range out.parts {
		wp := &out.parts[i]
		tp := taskPart{shard: h.Shards[wp.shard].Name, replica: wp.replica, replicas: wp.replicas, addr: wp.addr,
			remote: wp.ans.TaskUID, status: taskEnqueued}
		if !wp.ans.OK {
			tp.status, tp.remote = taskFailed, -1
			tp.err = &dialect.MeiliTaskError{Code: "federate_replica_unreachable", Type: "system",
				Message: "the write did not reach it: " + wp.ans.Reason}
		}
		t.parts = append(t.parts, tp)
	}
	addTask(t)
	// The watcher outlives the request: it polls with a detached copy.
	detached := *p
	detached.req = p.req.Clone(context.Background())
	detached.req.Body = http.NoBody
	go h.watchTask(&detached, t, pending)
	sum := dialect.MeiliTaskSummary{TaskUID: t.uid, IndexUID: wr.Index, Status: taskEnqueued, Type: wr.Type,
		EnqueuedAt: dialect.MeiliTime(now)}
	b, _ := json.Marshal(sum)
	return &answer{status: http.StatusAccepted, body: b, complete: "true"}
}

// refusedByAll is the first replica's answer when every part was refused
// with a 4xx: the request itself is wrong, and no task ran anywhere.
func refusedByAll(out *writeOutcome) *answer {
	if len(out.parts) == 0 {
		return nil
	}
	for i := range out.parts {
		if st := out.parts[i].ans.Status; out.parts[i].ans.OK || st < 400 || st > 499 {
			return nil
		}
	}
	a := out.parts[0].ans
	return &answer{status: a.Status, body: a.Body, complete: "true"}
}

// taskPollMax is the longest pause between two polls of a running task.
const taskPollMax = time.Second

// watchTask polls the task's parts until it ends, then marks the replicas
// that missed the write stale and closes pending.
func (h *Handler) watchTask(p *parentState, t *task, pending chan struct{}) {
	defer close(pending)
	delay := 20 * time.Millisecond
	for {
		if h.refreshTask(context.Background(), p, t) {
			h.taskMissed(t)
			return
		}
		select {
		case <-time.After(delay):
		case <-h.writes.stop:
			return // the next config's GET /tasks reads it on
		}
		delay = min(2*delay, taskPollMax)
	}
}

// refreshTask asks every unfinished part's replica for its task, through
// h's shard of the same name, and reports whether the task has ended.
// Parts past the task's deadline, and parts whose shard or replica h no
// longer has, fail.
func (h *Handler) refreshTask(ctx context.Context, p *parentState, t *task) bool {
	t.mu.Lock()
	var todo []int
	for i := range t.parts {
		tp := &t.parts[i]
		if tp.terminal() {
			continue
		}
		if time.Now().After(t.deadline) {
			tp.status = taskFailed
			tp.err = &dialect.MeiliTaskError{Code: "federate_write_timeout", Type: "system",
				Message: "the write did not finish within the route's write timeout (" + t.deadline.Sub(t.enqueued).String() + ")"}
			continue
		}
		todo = append(todo, i)
	}
	parts := slices.Clone(t.parts)
	t.mu.Unlock()
	ctx, cancel := context.WithDeadline(ctx, t.deadline)
	defer cancel()
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Add(1)
		go func(tp *taskPart) {
			defer wg.Done()
			h.pollPart(ctx, p, tp)
		}(&parts[i])
	}
	wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, i := range todo {
		if !t.parts[i].terminal() {
			t.parts[i] = parts[i]
		}
	}
	status, _ := aggregate(t.parts)
	done := status != taskEnqueued && status != taskProcessing
	if done && t.finished.IsZero() {
		t.finished = time.Now()
	}
	return done
}

// pollPart reads one part's task on its replica into tp.
func (h *Handler) pollPart(ctx context.Context, p *parentState, tp *taskPart) {
	fail := func(msg string) {
		tp.status = taskFailed
		tp.err = &dialect.MeiliTaskError{Code: "federate_replica_unreachable", Type: "system", Message: msg}
	}
	si := h.shardIndex(tp.shard)
	if si < 0 {
		fail("its shard is no longer in this route's configuration; the outcome of its task is unknown")
		return
	}
	s := h.Shards[si]
	addrs, err := shardReplicas(p.req, s)
	if err != nil || (tp.addr != "" && !slices.Contains(addrs, tp.addr)) {
		fail("the replica is no longer in this route's configuration; the outcome of its task is unknown")
		return
	}
	var others []string
	for _, a := range addrs {
		if a != tp.addr {
			others = append(others, a)
		}
	}
	req := &dialect.Request{Method: http.MethodGet, Path: "/tasks/" + strconv.FormatInt(tp.remote, 10)}
	status, body, _ := h.sendPart(ctx, p, s, others, req)
	if status != http.StatusOK {
		return // unreachable for now: try again until the deadline
	}
	st, terr, details, ok := dialect.MeiliPartTask(body)
	if !ok {
		return
	}
	tp.status, tp.err, tp.details = st, terr, details
}

// taskMissed marks stale, per shard, the replicas whose task failed while
// another replica's succeeded.
func (h *Handler) taskMissed(t *task) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.parts {
		tp := &t.parts[i]
		if tp.status == taskSucceeded || tp.addr == "" {
			continue
		}
		for j := range t.parts {
			if q := &t.parts[j]; q.shard == tp.shard && q.status == taskSucceeded {
				msg := "its task did not succeed"
				if tp.err != nil {
					msg = tp.err.Message
				}
				markStale(StaleReplica{Route: t.route, Shard: tp.shard, Replica: tp.replica + 1, Address: tp.addr,
					Since: time.Now(), Reason: "missed the write of task " + strconv.FormatInt(t.uid, 10) + ": " + msg})
				break
			}
		}
	}
}

// taskAnswer serves GET /tasks/{uid}.
func (h *Handler) taskAnswer(ctx context.Context, p *parentState, uid int64) *answer {
	t := getTask(uid)
	if t == nil {
		return h.errorAnswer(dialect.MeiliTaskNotFound(uid))
	}
	if h.refreshTask(ctx, p, t) {
		h.taskMissed(t)
	}
	b, _ := json.Marshal(t.object())
	return &answer{status: http.StatusOK, body: b}
}

// taskListAnswer serves GET /tasks: newest first, filtered by uids,
// statuses, types and indexUids, paged by limit and from.
func (h *Handler) taskListAnswer(ctx context.Context, p *parentState, params map[string][]string) *answer {
	get := func(k string) []string {
		if v := params[k]; len(v) > 0 && v[0] != "" && v[0] != "*" {
			return strings.Split(v[0], ",")
		}
		return nil
	}
	limit, from := 20, int64(-1)
	if v := params["limit"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return h.errorAnswer(&dialect.Error{Status: http.StatusBadRequest, Code: "invalid_task_limit", Type: "invalid_request",
				Message: "Invalid value in parameter `limit`: could not parse `" + v[0] + "` as a positive integer"})
		}
		limit = n
	}
	if v := params["from"]; len(v) > 0 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return h.errorAnswer(&dialect.Error{Status: http.StatusBadRequest, Code: "invalid_task_from", Type: "invalid_request",
				Message: "Invalid value in parameter `from`: could not parse `" + v[0] + "` as a positive integer"})
		}
		from = n
	}
	uids, statuses, types, indexes := get("uids"), get("statuses"), get("types"), get("indexUids")
	tasks.Lock()
	all := make([]*task, 0, len(tasks.order))
	for i := len(tasks.order) - 1; i >= 0; i-- {
		all = append(all, tasks.m[tasks.order[i]])
	}
	tasks.Unlock()
	results := []dialect.MeiliTask{}
	var next *int64
	total := 0
	for _, t := range all {
		if (uids != nil && !slices.Contains(uids, strconv.FormatInt(t.uid, 10))) || (types != nil && !slices.Contains(types, t.typ)) ||
			(indexes != nil && !slices.Contains(indexes, t.index)) {
			continue
		}
		if statuses != nil && len(results) < limit && (from < 0 || t.uid <= from) && h.refreshTask(ctx, p, t) {
			h.taskMissed(t)
		}
		obj := t.object()
		if statuses != nil && !slices.Contains(statuses, obj.Status) {
			continue
		}
		total++
		if from >= 0 && t.uid > from {
			continue
		}
		if len(results) < limit {
			if statuses == nil && obj.Status != taskSucceeded && obj.Status != taskFailed && h.refreshTask(ctx, p, t) {
				h.taskMissed(t)
				obj = t.object()
			}
			results = append(results, obj)
		} else if next == nil {
			n := t.uid
			next = &n
		}
	}
	b, _ := json.Marshal(struct {
		Results []dialect.MeiliTask `json:"results"`
		Total   int                 `json:"total"`
		Limit   int                 `json:"limit"`
		From    *int64              `json:"from"`
		Next    *int64              `json:"next"`
	}{results, total, limit, firstUID(results), next})
	return &answer{status: http.StatusOK, body: b}
}

func firstUID(ts []dialect.MeiliTask) *int64 {
	if len(ts) == 0 {
		return nil
	}
	return &ts[0].UID
}

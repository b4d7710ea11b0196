package engine

import (
	"context"
	"sync"
)

// Pool runs long jobs outside the reconcile loop on a bounded number of workers, at most one per key. The
// controller starts jobs, asks whether one is running, and takes the result when Notify tells it one finished.
type Pool struct {
	slots  chan struct{}
	notify func(key string)

	mu      sync.Mutex
	running map[string]*poolRun
	done    map[string]Result
}

type poolRun struct {
	cancel   context.CancelFunc
	finished chan struct{}
	progress []EntityResult
}

// NewPool makes a pool with n workers. notify is called (from the worker goroutine) when a job finishes.
func NewPool(n int, notify func(key string)) *Pool {
	if n < 1 {
		n = 1
	}
	return &Pool{slots: make(chan struct{}, n), notify: notify, running: map[string]*poolRun{}, done: map[string]Result{}}
}

// Start runs fn for key unless a job for key is already running or waiting for a worker. It reports whether it
// started one. fn's context is cancelled by Cancel or when parent ends.
func (p *Pool) Start(parent context.Context, key string, fn func(ctx context.Context, progress func(EntityResult)) Result) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, busy := p.running[key]; busy {
		return false
	}
	ctx, cancel := context.WithCancel(parent)
	r := &poolRun{cancel: cancel, finished: make(chan struct{})}
	p.running[key] = r
	go func() {
		defer cancel()
		var res Result
		select {
		case p.slots <- struct{}{}:
			res = fn(ctx, func(er EntityResult) { p.setProgress(key, er) })
			<-p.slots
		case <-ctx.Done():
			res = Result{Err: ctx.Err()}
		}
		p.mu.Lock()
		delete(p.running, key)
		p.done[key] = res
		p.mu.Unlock()
		close(r.finished)
		if p.notify != nil {
			p.notify(key)
		}
	}()
	return true
}

func (p *Pool) setProgress(key string, er EntityResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.running[key]; ok {
		for i := range r.progress {
			if r.progress[i].Entity == er.Entity {
				r.progress[i] = er
				return
			}
		}
		r.progress = append(r.progress, er)
	}
}

// Running reports whether a job for key is running or waiting, with its progress so far.
func (p *Pool) Running(key string) (bool, []EntityResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.running[key]
	if !ok {
		return false, nil
	}
	return true, append([]EntityResult(nil), r.progress...)
}

// Take returns and forgets the result of the last finished job for key.
func (p *Pool) Take(key string) (Result, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	res, ok := p.done[key]
	delete(p.done, key)
	return res, ok
}

// Keep puts back a result taken but not reported, unless a newer one is already waiting.
func (p *Pool) Keep(key string, res Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, newer := p.done[key]; !newer {
		p.done[key] = res
	}
}

// Cancel stops the job for key, if any, and waits until it has stopped. Its result is kept for Take.
func (p *Pool) Cancel(key string) {
	p.mu.Lock()
	r, ok := p.running[key]
	p.mu.Unlock()
	if !ok {
		return
	}
	r.cancel()
	<-r.finished
}

// Forget cancels any job for key and drops its result: the object is gone.
func (p *Pool) Forget(key string) {
	p.Cancel(key)
	p.mu.Lock()
	delete(p.done, key)
	p.mu.Unlock()
}

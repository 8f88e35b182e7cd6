package registrygen

import (
	"bytes"
	"errors"
	"runtime"
	"sync"

	"github.com/joblet/rtool/schema"
)

// parallelMinBytes is the registry size from which runtimes are parsed by
// several goroutines (one runtime at a time each).
const parallelMinBytes = 1 << 20

// errSequential makes run() parse again on one goroutine: the input is
// malformed in a way the quick structural scan cannot delimit, and the
// sequential parser gives the exact first error.
var errSequential = errors.New("parse sequentially")

type runtimeJob struct {
	name       string
	start, end int
}

type runtimeResult struct {
	name     string
	versions map[string]*schema.RegistryEntry
	errs     Errors
	dropped  int
	ok       bool
}

// runtimePool parses runtimes' version objects on GOMAXPROCS goroutines.
type runtimePool struct {
	parent  *parser
	jobs    chan int
	queued  []runtimeJob
	results []runtimeResult
	mu      sync.Mutex
	wg      sync.WaitGroup
	stopped bool
}

func newRuntimePool(p *parser) *runtimePool {
	rp := &runtimePool{parent: p, jobs: make(chan int, 64)}
	for range runtime.GOMAXPROCS(0) {
		rp.wg.Add(1)
		go rp.work()
	}
	return rp
}

func (rp *runtimePool) submit(name string, start, end int) {
	rp.mu.Lock()
	i := len(rp.queued)
	rp.queued = append(rp.queued, runtimeJob{name, start, end})
	rp.results = append(rp.results, runtimeResult{})
	rp.mu.Unlock()
	rp.jobs <- i
}

func (rp *runtimePool) work() {
	defer rp.wg.Done()
	for i := range rp.jobs {
		rp.mu.Lock()
		job := rp.queued[i]
		rp.mu.Unlock()
		res := rp.parent.parseRuntime(job)
		rp.mu.Lock()
		rp.results[i] = res
		rp.mu.Unlock()
	}
}

// stop ends the workers (also when the main parse panics).
func (rp *runtimePool) stop() {
	if !rp.stopped {
		rp.stopped = true
		close(rp.jobs)
		rp.wg.Wait()
	}
}

func (rp *runtimePool) wait() []runtimeResult {
	rp.stop()
	return rp.results
}

// parseRuntime parses one runtime's versions object at [job.start,
// job.end) with a parser of its own; ok is false when the value does not
// end where the structural scan said (malformed input).
func (p *parser) parseRuntime(job runtimeJob) (res runtimeResult) {
	res.name = job.name
	w := &parser{data: p.data, i: job.start, source: p.source, intern: map[string]string{}, shared: p.shared, sequential: true,
		path: []seg{{key: "runtimes"}, {key: job.name}}}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatal); !ok {
				panic(v)
			}
			res.ok = false
		}
	}()
	res.versions = w.versions()
	res.errs, res.dropped = w.errs, w.dropped
	res.ok = w.i == job.end && res.versions != nil
	return res
}

// structural marks the bytes skipStructure must look at.
var structural = func() (t [256]bool) {
	for _, c := range `"{}[]` {
		t[c] = true
	}
	return t
}()

// skipStructure finds the end of the object or array starting at i by
// matching brackets outside strings, without checking anything else.
func skipStructure(data []byte, i int) (int, bool) {
	depth := 0
	for i < len(data) {
		c := data[i]
		if !structural[c] {
			i++
			continue
		}
		switch c {
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 {
					return 0, false
				}
				j += k
				backslashes := 0
				for m := j - 1; m > i && data[m] == '\\'; m-- {
					backslashes++
				}
				if backslashes%2 == 0 {
					break
				}
				j++
			}
			i = j + 1
		case '{', '[':
			depth++
			i++
		default:
			depth--
			i++
			if depth == 0 {
				return i, true
			}
			if depth < 0 {
				return 0, false
			}
		}
	}
	return 0, false
}

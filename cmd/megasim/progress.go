package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// isTerminal says whether w is a terminal (a character device), where a
// progress line redrawn in place makes sense; a file, a pipe or a CI log
// gets none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress is a sweep's progress line on a terminal: seeds done of the
// total, failures, seeds per hour and the time left, redrawn in place at
// most every redrawEvery. A nil *progress draws nothing.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	total  int
	done   int
	failed int
	start  time.Time
	drawn  bool // the line is on the screen
	stop   chan struct{}
	wg     sync.WaitGroup
}

const redrawEvery = 250 * time.Millisecond

// newProgress starts a progress line on w if w is a terminal; otherwise it
// returns nil.
func newProgress(w io.Writer, total int) *progress {
	if !isTerminal(w) {
		return nil
	}
	p := &progress{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// seed counts one seed done.
func (p *progress) seed(failed bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
}

// hold clears the line so that other output can be printed, and returns
// the function that lets it be drawn again.
func (p *progress) hold() func() {
	if p == nil {
		return func() {}
	}
	p.mu.Lock()
	p.clear()
	return p.mu.Unlock
}

// end clears the line for good.
func (p *progress) end() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func (p *progress) draw() {
	fmt.Fprint(p.w, "\r\033[K"+progressLine(p.done, p.total, p.failed, time.Since(p.start)))
	p.drawn = true
}

// progressLine is the text of the progress line.
func progressLine(done, total, failed int, elapsed time.Duration) string {
	s := fmt.Sprintf("sweep: %d/%d seeds, %d failed", done, total, failed)
	if done == 0 || elapsed <= 0 {
		return s + ", ETA …"
	}
	perHour := float64(done) / elapsed.Hours()
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	return s + fmt.Sprintf(", %.0f seeds/hour, ETA %v", perHour, left.Round(time.Second))
}

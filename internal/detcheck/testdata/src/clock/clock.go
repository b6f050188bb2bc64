// Package clock holds the wall-clock cases.
package clock

import (
	"time"
	stdtime "time"
)

func calls() {
	_ = time.Now()                        // want `wall clock: time.Now reads the wall clock or arms a real timer: use Env.Now or Env.After`
	time.Sleep(1)                         // want `wall clock: time.Sleep`
	<-time.After(1)                       // want `wall clock: time.After `
	time.AfterFunc(1, func() {})          // want `wall clock: time.AfterFunc`
	_ = time.Tick(1)                      // want `wall clock: time.Tick`
	_ = time.NewTimer(1)                  // want `wall clock: time.NewTimer`
	_ = time.NewTicker(1)                 // want `wall clock: time.NewTicker`
	_ = time.Since(time.Time{})           // want `wall clock: time.Since`
	_ = time.Until(time.Time{})           // want `wall clock: time.Until`
	_ = stdtime.Now().Add(stdtime.Second) // want `wall clock: time.Now`
}

var now = time.Now // want `wall clock: time.Now`

type Env interface {
	Now() time.Time
	After(d time.Duration, id int)
}

// Time values, durations, and an Env's own Now are fine.
func fine(e Env, t *time.Timer) time.Duration {
	e.After(time.Second, 1)
	t.Stop()
	return e.Now().Add(time.Millisecond).Sub(time.Unix(0, 0)) + time.Duration(time.January)
}

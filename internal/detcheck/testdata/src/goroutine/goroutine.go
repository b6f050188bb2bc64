// Package goroutine holds the goroutine cases.
package goroutine

func work() {}

func spawn() {
	go work()      // want `goroutine: go statement: a node must not start goroutines`
	go func() {}() // want `goroutine: go statement`
}

// Calling a function, even one named go-something, is fine.
func fine() {
	work()
	goAhead := func() {}
	goAhead()
	defer work()
}

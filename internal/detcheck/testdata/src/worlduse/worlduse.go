// Package worlduse holds the cases that reach a real-world package without
// importing it, and the packages that are fine.
package worlduse

import (
	"bytes"
	"io"
	"strings"

	"worlddep"
)

func send(h worlddep.Holder, b []byte) {
	h.Conn.Write(b) // want `real world: uses net.Conn.Write from "net"`
}

// io, bytes and strings are fine, and so is holding the value.
func fine(h worlddep.Holder, w io.Writer) worlddep.Holder {
	var buf bytes.Buffer
	io.Copy(w, strings.NewReader("x"))
	buf.WriteString("y")
	return h
}

// Package world holds the real-world import cases.
package world

import (
	crand "crypto/rand" // want `real world: imports "crypto/rand", which touches the real world`
	. "net"             // want `real world: imports "net"`
	"net/http"          // want `real world: imports "net/http"`
	_ "os"              // want `real world: imports "os"`
	"os/exec"           // want `real world: imports "os/exec"`
	"syscall"           // want `real world: imports "syscall"`
)

var _, _, _, _, _ = crand.Reader, IPv4len, http.Get, exec.Command, syscall.Getpid

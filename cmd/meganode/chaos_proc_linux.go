//go:build linux

package main

import "syscall"

// chaosSysProcAttr puts a node the chaos campaign starts in its own
// process group (so that a kill reaches all of it and a Ctrl-C at the
// terminal reaches the campaign, which stops the nodes itself), and has
// the kernel kill it should the campaign die without stopping it.
func chaosSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

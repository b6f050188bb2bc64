//go:build !linux

package main

import "syscall"

// chaosSysProcAttr puts a node the chaos campaign starts in its own
// process group, so that a kill reaches all of it and a Ctrl-C at the
// terminal reaches the campaign, which stops the nodes itself. (Only Linux
// can also have the kernel kill it should the campaign die.)
func chaosSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// Package worlddep hands out a socket, for worlduse.
package worlddep

import "net"

type Holder struct{ Conn net.Conn }

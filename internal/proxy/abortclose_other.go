//go:build !unix

package proxy

import (
	"context"
	"net"
)

// watchClose cannot peek at a socket here: "option abortonclose" has no
// effect and requests are served as without it.
func watchClose(context.Context, net.Conn) *closeWatch { return nil }

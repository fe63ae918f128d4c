package rules

import "bulwark/internal/model"

// ProxyExpecter is implemented by the Txn of a client connection that can
// read a PROXY protocol header: "tcp-request connection expect-proxy
// layer4" tells it to, once the connection rules are done.
type ProxyExpecter interface{ ExpectProxy() }

type expectProxy struct{}

// run does not stop the list: in HAProxy expect-proxy only flags the
// connection, and later rules still run.
func (expectProxy) run(x *Exec, r *rule, res *Result) bool {
	if pe, ok := x.T.(ProxyExpecter); ok {
		pe.ExpectProxy()
	}
	return false
}

func compileExpectProxy(c *compiler, r *model.Rule) action {
	if len(r.Args) != 1 || r.Args[0].Text != "layer4" {
		c.errf(r.Pos, r, "expects 'layer4'")
		return nil
	}
	return expectProxy{}
}

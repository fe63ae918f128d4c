package rules

import "bulwark/internal/model"

// ProxyExpecter is implemented by the Txn of a client connection that can
// read a PROXY protocol header: "tcp-request connection expect-proxy
// layer4" tells it to, once the connection rules are done.
type ProxyExpecter interface{ ExpectProxy() }

// NetScalerExpecter is the same for a NetScaler Client IP header
// ("tcp-request connection expect-netscaler-cip layer4").
type NetScalerExpecter interface{ ExpectNetScaler() }

// expectProxy is either action; cip picks expect-netscaler-cip.
type expectProxy struct{ cip bool }

// run does not stop the list: in HAProxy these actions only flag the
// connection, and later rules still run.
func (a expectProxy) run(x *Exec, r *rule, res *Result) bool {
	if a.cip {
		if ne, ok := x.T.(NetScalerExpecter); ok {
			ne.ExpectNetScaler()
		}
		return false
	}
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
	return expectProxy{cip: r.Action == "expect-netscaler-cip"}
}

package acl

import "bulwark/internal/tlsinfo"

// HandshakeTxn is implemented by a Txn whose TLS connections recorded
// what crypto/tls does not export (tlsinfo): the hellos' randoms and
// session id, and the key log with "tune.ssl.keylog on". server selects
// the server connection (ssl_bc_*) over the client one (ssl_fc_*).
type HandshakeTxn interface {
	Handshake(server bool) *tlsinfo.Info
}

// secretFetches are the ssl_fc_* and ssl_bc_* fetches of the hellos and
// of the key log (CM 7.3.4, "tune.ssl.keylog").
func secretFetches(out map[string]*fetchDef) {
	for _, side := range []struct {
		pfx  string
		side tlsSide
	}{{"ssl_fc", sideClientConn}, {"ssl_bc", sideServerConn}} {
		for _, w := range []string{"client_random", "server_random", "session_id", "session_key"} {
			out[side.pfx+"_"+w] = &fetchDef{out: KindBin, fn: fetchHandshake(side.side, w)}
		}
	}
	for name, l := range map[string]tlsinfo.Label{
		"ssl_fc_client_handshake_traffic_secret": tlsinfo.ClientHandshakeTraffic,
		"ssl_fc_server_handshake_traffic_secret": tlsinfo.ServerHandshakeTraffic,
		"ssl_fc_client_traffic_secret_0":         tlsinfo.ClientTraffic0,
		"ssl_fc_server_traffic_secret_0":         tlsinfo.ServerTraffic0,
	} {
		out[name] = &fetchDef{out: KindStr, fn: fetchSecret(l)}
	}
	// crypto/tls's servers take no early data (0-RTT), so no handshake
	// has these secrets.
	for _, name := range []string{"ssl_fc_client_early_traffic_secret", "ssl_fc_early_exporter_secret"} {
		out[name] = &fetchDef{out: KindStr, fn: fetchNone}
	}
}

func handshakeOf(e *Eval, side tlsSide) *tlsinfo.Info {
	st, _ := tlsOf(e, side)
	ht, ok := e.Txn.(HandshakeTxn)
	if st == nil || !ok {
		return nil
	}
	return ht.Handshake(side == sideServerConn)
}

func appendBin(e *Eval, b []byte) Sample {
	n := len(e.buf)
	e.buf = append(e.buf, b...)
	return Sample{Kind: KindBin, B: e.tail(n)}
}

func fetchHandshake(side tlsSide, what string) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		info := handshakeOf(e, side)
		if info == nil {
			return Sample{}, false
		}
		var b []byte
		switch what {
		case "client_random":
			if h := info.ClientHello(); h != nil {
				b = h.Random[:]
			}
		case "server_random":
			if h := info.ServerHello(); h != nil {
				b = h.Random[:]
			}
		case "session_id":
			// The ServerHello's: empty on a TLS 1.2 session that
			// resumes by ticket or gets one, as OpenSSL's is.
			if h := info.ServerHello(); h != nil {
				b = h.SessionID()
			}
		case "session_key":
			// The TLS 1.2 master secret; crypto/tls logs none for
			// TLS 1.3 (its resumption secret is not exported).
			b = info.Keys.Secret(tlsinfo.MasterSecret)
		}
		if len(b) == 0 {
			return Sample{}, false
		}
		return appendBin(e, b), true
	}
}

// fetchSecret gives a key log secret as the key log writes it, in
// hexadecimal, as HAProxy does.
func fetchSecret(l tlsinfo.Label) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		info := handshakeOf(e, sideClientConn)
		if info == nil {
			return Sample{}, false
		}
		h := info.Keys.Hex(l)
		if h == nil {
			return Sample{}, false
		}
		return appendStr(e, string(h)), true
	}
}

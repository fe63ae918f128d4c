package acl

// CompressionTxn is implemented by a Txn whose responses the proxy may
// compress ("compression"); res.comp and res.comp_algo read it.
type CompressionTxn interface {
	// Compression returns the name of the algorithm the response is
	// compressed with by the proxy, "" when it goes as the server sent it.
	Compression() string
}

// compFetches are the compression fetches (CM 7.3.6): they exist once
// there is a response, as HAProxy's need one.
var compFetches = map[string]*fetchDef{
	"res.comp":      {out: KindBool, fn: fetchResComp},
	"res.comp_algo": {out: KindStr, fn: fetchResCompAlgo},
}

func respCompression(e *Eval, it *iter) (string, bool) {
	if !once(it) || e.Txn.Status() == 0 {
		return "", false
	}
	ct, ok := e.Txn.(CompressionTxn)
	if !ok {
		return "", true
	}
	return ct.Compression(), true
}

// fetchResComp is res.comp: whether the proxy compresses the response.
func fetchResComp(e *Eval, x *Expr, it *iter) (Sample, bool) {
	algo, ok := respCompression(e, it)
	if !ok {
		return Sample{}, false
	}
	return boolSample(algo != ""), true
}

// fetchResCompAlgo is res.comp_algo: the algorithm's name ("gzip",
// "deflate", "raw-deflate"), missing when the response is not compressed.
func fetchResCompAlgo(e *Eval, x *Expr, it *iter) (Sample, bool) {
	algo, ok := respCompression(e, it)
	if !ok || algo == "" {
		return Sample{}, false
	}
	return Sample{Kind: KindStr, B: []byte(algo)}, true
}

package proxy

import (
	"fmt"
	"testing"
)

// distccRequest is a distcc request compiling one file of size bytes.
func distccRequest(size int) string {
	src := make([]byte, size)
	for i := range src {
		src[i] = 'x'
	}
	return fmt.Sprintf("DIST00000001ARGC00000002ARGV00000003gccARGV00000002-cDOTI%08x%s", size, src)
}

// The manual's example (CM 7.3.5 distcc_param): wait for the
// preprocessed file, send large ones to the big farm; distcc_body picks
// an argument. The servers get the request unchanged.
func TestDistccFetches(t *testing.T) {
	small := newRawBackend(t, nil)
	big := newRawBackend(t, nil)
	clang := newRawBackend(t, nil)
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    mode tcp
    bind 127.0.0.1:0
    tcp-request inspect-delay 5s
    tcp-request content accept if { distcc_param(DOTI) -m found }
    use_backend big_farm if { distcc_param(DOTI) gt 1000 }
    use_backend clang if { distcc_body(ARGV,1) -m str clang }
    default_backend small_farm
backend small_farm
    mode tcp
    server s SMALL
backend big_farm
    mode tcp
    server s BIG
backend clang
    mode tcp
    server s CLANG
`, "SMALL", small.addr, "BIG", big.addr, "CLANG", clang.addr))
	sendRaw(t, addr, distccRequest(10), true)
	sendRaw(t, addr, distccRequest(2000), true)
	req := "DIST00000001ARGC00000001ARGV00000005clangDOTI00000001y"
	sendRaw(t, addr, req, true)
	if conns(small) != 1 || lastRequest(small) != distccRequest(10) {
		t.Errorf("small farm: %d connections, last %.40q", conns(small), lastRequest(small))
	}
	if conns(big) != 1 || lastRequest(big) != distccRequest(2000) {
		t.Errorf("big farm: %d connections, last %.40q", conns(big), lastRequest(big))
	}
	if conns(clang) != 1 || lastRequest(clang) != req {
		t.Errorf("clang: %d connections, last %q", conns(clang), lastRequest(clang))
	}
}

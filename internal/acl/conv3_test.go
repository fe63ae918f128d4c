package acl_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
	"bulwark/internal/stick"
)

// Packets of HAProxy's reg-tests/converter/mqtt.vtc and fix.vtc.
const (
	mqtt311Connect  = "101a00044d51545404c2003c00000004746573740006706173737764"
	mqtt311Will     = "103a00044d51545404ee003c0008746573745f737562000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764"
	mqtt50Complex   = "107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764"
	mqtt50Connack   = "20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164"
	mqtt31Connect   = "102400064d514973647003c200000008746573745f7375620004746573740006706173737764"
	mqttBadFlags    = "111400044d5154540402003c0008746573745f737562"
	mqttLongLen     = "10ffffffff1400044d5154540402003c0008746573745f737562"
	mqttShort       = "101800044d5154540402003c0008746573745f737562"
	fix44Server     = "383d4649582e342e3401393d37390133353d410133343d310134393d4558454355544f520135323d32303230313032392d31333a30323a34342e3533353336300135363d434c49454e54310139383d30013130383d3330013134313d590131303d30333801"
	fix50Server     = "383d464958542e312e3101393d38360133353d410133343d310134393d4558454355544f520135323d32303230313032392d31333a31333a32322e3632363338340135363d434c49454e54310139383d30013130383d3330013134313d5901313133373d370131303d31383401"
	fix44BadSum     = "383d4649582e342e3401393d37390133353d410133343d310134393d4558454355544f520135323d32303230313032392d31333a30323a34342e3533353336300135363d434c49454e54310139383d30013130383d3330013134313d590131303d30333901"
	pbRect          = "820311da030e08960110fdffffffffffffffff01"
	jwtHS256        = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0IiwibiI6N30.gPBeDPJ87G1ZEnuFr78wrE42kSUm-ujwiXstZ9EMWWU"
	jwtHS256Payload = `{"sub":"1234","n":7}`
)

func TestProtocolConverters(t *testing.T) {
	tx := acltest.New()
	tx.SetVar("txn.jwt", Sample{Kind: KindStr, B: []byte(jwtHS256)})
	tx.SetVar("txn.alg", Sample{Kind: KindStr, B: []byte("HS256")})
	for _, tt := range []struct{ expr, want string }{
		{"bin(" + mqtt311Connect + "),mqtt_is_valid", "1"},
		{"bin(" + mqtt311Will + "),mqtt_is_valid", "1"},
		{"bin(" + mqtt50Complex + "),mqtt_is_valid", "1"},
		{"bin(" + mqtt50Connack + "),mqtt_is_valid", "1"},
		{"bin(" + mqtt31Connect + "),mqtt_is_valid", "1"},
		{"bin(20020000),mqtt_is_valid", "1"},
		{"bin(21020000),mqtt_is_valid", "0"},
		{"bin(d000),mqtt_is_valid", "0"},
		{"bin(" + mqttBadFlags + "),mqtt_is_valid", "0"},
		{"bin(" + mqttLongLen + "),mqtt_is_valid", "0"},
		{"bin(" + mqttShort + "),mqtt_is_valid", "0"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,flags)", "238"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,protocol_name)", "MQTT"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(CONNECT,protocol_version)", "5"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(1,client_identifier)", "test_sub"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,will_topic)", "willtopic"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,will_payload)", "willpayload"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,username)", "test"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,password)", "passwd"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,keepalive)", "60"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,39)", "20"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,23)", "1"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,3)", "text/plain"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,8)", "willrsptopic"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connect,17)", "<none>"},
		{"bin(" + mqtt50Complex + "),mqtt_field_value(connack,flags)", "<none>"},
		{"bin(" + mqtt311Connect + "),mqtt_field_value(connect,client_identifier)", ""},
		{"bin(" + mqtt311Connect + "),mqtt_field_value(connect,will_topic)", "<none>"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,flags)", "0"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,protocol_version)", "5"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,reason_code)", "0"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,17)", "120"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,33)", "32767"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,36)", "1"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,37)", "1"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,39)", "65535"},
		{"bin(" + mqtt50Connack + "),mqtt_field_value(connack,34)", "10"},
		{"bin(20020000),mqtt_field_value(connack,protocol_version)", "4"},

		{"bin(" + fix44Server + "),fix_is_valid", "1"},
		{"bin(" + fix50Server + "),fix_is_valid", "1"},
		{"bin(" + fix44BadSum + "),fix_is_valid", "0"},
		{"str('8=FIX.4.4\x019=5\x0135=A\x0110=000\x01'),fix_is_valid", "0"},
		{"bin(" + fix44Server + "),fix_tag_value(BeginString)", "FIX.4.4"},
		{"bin(" + fix44Server + "),fix_tag_value(9)", "79"},
		{"bin(" + fix44Server + "),fix_tag_value(msgtype)", "A"},
		{"bin(" + fix44Server + "),fix_tag_value(SenderCompID)", "EXECUTOR"},
		{"bin(" + fix44Server + "),fix_tag_value(56)", "CLIENT1"},
		{"bin(" + fix44Server + "),fix_tag_value(CheckSum)", "038"},
		{"bin(" + fix44Server + "),fix_tag_value(555)", "<none>"},

		{"bin(" + pbRect + "),protobuf(48.59.1,int32)", "150"},
		{"bin(" + pbRect + "),protobuf(48.59.2,int32)", "-3"},
		{"bin(" + pbRect + "),protobuf(48.59.2,uint32)", "4294967293"},
		{"bin(" + pbRect + "),protobuf(48.59.1,sint32)", "75"},
		{"bin(" + pbRect + "),protobuf(48.59.1,fixed32)", "<none>"},
		{"bin(" + pbRect + "),protobuf(48.59),hex", "08960110FDFFFFFFFFFFFFFFFF01"},
		{"bin(" + pbRect + "),protobuf(49)", "<none>"},
		{"bin(0000000014" + pbRect + "),ungrpc(48.59.1,int32)", "150"},
		{"bin(0000000014" + pbRect + "),ungrpc(48),protobuf(59.1,int32)", "150"},
		{"bin(0000000014" + pbRect + "),ungrpc(48.59),protobuf(2,int64)", "-3"},
		{"bin(0000000015" + pbRect + "),ungrpc(48.59.1,int32)", "<none>"},
		{"bin(0000000014" + pbRect + "),ungrpc(48.59.1,int32),add(1)", "151"},

		{"str(" + jwtHS256 + "),jwt_header_query('$.alg')", "HS256"},
		{"str(" + jwtHS256 + "),jwt_payload_query('$.n',int)", "7"},
		{"str(" + jwtHS256 + "),jwt_payload_query", jwtHS256Payload},
		{"str(" + jwtHS256 + "),jwt_verify(HS256,secret)", "1"},
		{"str(" + jwtHS256 + "),jwt_verify(HS256,wrong)", "0"},
		{"var(txn.jwt),jwt_verify(txn.alg,secret)", "1"},
		{"str(" + jwtHS256 + "),jwt_verify(PS256,secret)", "-2"},
		{"str(a.b),jwt_verify(HS256,secret)", "-3"},
		{"str(a.b.!),jwt_verify(HS256,secret)", "-3"},
		{"str(a.b),jwt_header_query", "<none>"},
	} {
		if got := sampleOf(t, tt.expr, tx); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestConverterArgErrors(t *testing.T) {
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n", Options{})
	for _, tt := range []struct{ expr, want string }{
		{"str(a),mqtt_field_value(nope,flags)", "invalid MQTT packet type 'nope'"},
		{"str(a),mqtt_field_value(connack,username)", "invalid MQTT field name 'username'"},
		{"str(a),mqtt_field_value(connect,250)", "invalid MQTT property identifier '250'"},
		{"str(a),fix_tag_value(Nope)", "invalid FIX tag 'Nope'"},
		{"str(a),protobuf(1.x)", "invalid field number 'x'"},
		{"str(a),protobuf(1,string)", "unknown protocol buffers field type 'string'"},
		{"str(a),jwt_verify(XS256,k)", "unknown JWT algorithm 'XS256'"},
		{"str(a),jwt_verify(RS256,/nonexistent.pem)", "cannot load certificate '/nonexistent.pem'"},
		{"str(a),aes_gcm_dec(100,a,b,c)", "key size must be 128, 192 or 256"},
		{"str(a),debug(x,buf9)", "No such sink 'buf9'"},
		{"str(a),json(latin1)", "Unexpected input code type"},
		{"str(a),xxh32(x)", "invalid integer 'x'"},
	} {
		_, err := s.Expr(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.expr, err, tt.want)
		}
	}
}

// TestJWTVerifyES256 signs a token with a fresh key whose certificate is
// on disk, as jwt_verify's manual example does with RS256.
func TestJWTVerifyES256(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jwt"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	crt := filepath.Join(t.TempDir(), "jwt.pem")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." + enc.EncodeToString([]byte(`{"a":1}`))
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	tok := signed + "." + enc.EncodeToString(sig)
	bad := signed + "." + enc.EncodeToString(append(sig[:63:63], sig[63]^1))
	tx := acltest.New()
	for _, tt := range []struct{ expr, want string }{
		{"str(" + tok + "),jwt_verify(ES256,\"" + crt + "\")", "1"},
		{"str(" + bad + "),jwt_verify(ES256,\"" + crt + "\")", "0"},
		{"str(" + tok + "),jwt_verify(RS256,\"" + crt + "\")", "0"},
	} {
		if got := sampleOf(t, tt.expr, tx); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestAESGCMDec(t *testing.T) {
	key := []byte("0123456789abcdef")
	nonce := []byte("unique nonce")
	blk, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(blk)
	sealed := g.Seal(nil, nonce, []byte("secret text"), nil)
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	b64 := base64.StdEncoding.EncodeToString
	tx := acltest.New()
	tx.SetVar("txn.ct", Sample{Kind: KindBin, B: ct})
	tx.SetVar("txn.nonce", Sample{Kind: KindStr, B: []byte(b64(nonce))})
	badTag := append([]byte(nil), tag...)
	badTag[0] ^= 1
	for _, tt := range []struct{ expr, want string }{
		{"var(txn.ct),aes_gcm_dec(128,txn.nonce," + b64(key) + "," + b64(tag) + ")", "secret text"},
		{"var(txn.ct),aes_gcm_dec(128," + b64(nonce) + "," + b64(key) + "," + b64(badTag) + ")", "<none>"},
		{"var(txn.ct),aes_gcm_dec(256,txn.nonce," + b64(key) + "," + b64(tag) + ")", "<none>"},
	} {
		if got := sampleOf(t, tt.expr, tx); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// in_table is true for a key the table holds (CM 7.3.1 "in_table").
func TestInTable(t *testing.T) {
	spec, err := stick.ParseTableSpec([]string{"type", "string", "len", "32", "size", "10"})
	if err != nil {
		t.Fatal(err)
	}
	tbl := stick.New("fe", spec)
	if _, err := tbl.Track(stick.BytesKey([]byte("known")), 0); err != nil {
		t.Fatal(err)
	}
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n stick-table type string len 32 size 10\n", testOpts(map[string]*stick.Table{"fe": tbl}))
	for _, tt := range []struct{ in, want string }{{"known", "1"}, {"unknown", "0"}} {
		x, err := s.Expr("str(" + tt.in + "),in_table(fe)")
		if err != nil {
			t.Fatal(err)
		}
		out, _ := x.AppendString(nil, NewEval(acltest.New()))
		if string(out) != tt.want {
			t.Errorf("%s: %s, want %s", tt.in, out, tt.want)
		}
	}
	for _, tt := range []struct{ expr, want string }{{"table_cnt", "1"}, {"table_avl(fe)", "9"}} {
		x, err := s.Expr(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := x.AppendString(nil, NewEval(acltest.New())); string(out) != tt.want {
			t.Errorf("%s = %s, want %s", tt.expr, out, tt.want)
		}
	}
	if _, err := s.Expr("str(a),in_table(nosuch)"); err == nil || !strings.Contains(err.Error(), "unable to find stick-table 'nosuch'") {
		t.Errorf("unknown table: %v", err)
	}
}

// Fetches naming a backend check it when they load, as HAProxy does: an
// unknown one, or none in a proxy without backend capability, is an error.
func TestProxyArgFetches(t *testing.T) {
	_, _, s, ds := build(t, "frontend fe\n mode http\n bind :80\n default_backend app\nbackend app\n mode http\n server s 127.0.0.1:1\n", Options{})
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	tx := acltest.New()
	tx.Environment = acltest.Env{Servers: map[string]int{"app": 0}, BeConns: map[string]int{"app": 3}}
	for _, tt := range []struct{ expr, want string }{
		{"be_conn(app)", "3"}, {"nbsrv(app)", "0"},
	} {
		x, err := s.Expr(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := x.AppendString(nil, NewEval(tx)); string(out) != tt.want {
			t.Errorf("%s = %s, want %s", tt.expr, out, tt.want)
		}
	}
	for _, tt := range []struct{ expr, want string }{
		{"nbsrv(nope)", "unable to find backend 'nope'"},
		{"nbsrv", "proxy 'fe', referenced in arg 1 of sample fetch keyword 'nbsrv', has not backend capability"},
		{"be_conn_free", "has not backend capability"},
		{"srv_is_up(app/nope)", "unable to find server 'nope' in backend 'app'"},
		{"srv_conn(nope/s)", "unable to find backend 'nope'"},
		{"fc_rtt(s)", "invalid unit 's' (expects 'ms' or 'us')"},
	} {
		if _, err := s.Expr(tt.expr); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.expr, err, tt.want)
		}
	}
}

// src_updt_conn_cnt counts a connection for the source in the table and
// returns the count; without conn_cnt stored there is no sample.
func TestSrcUpdtConnCnt(t *testing.T) {
	spec, err := stick.ParseTableSpec([]string{"type", "ip", "size", "10", "store", "conn_cnt"})
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := stick.ParseTableSpec([]string{"type", "ip", "size", "10"})
	tables := map[string]*stick.Table{"fe": stick.New("fe", spec), "bare": stick.New("bare", bare)}
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n stick-table type ip size 10 store conn_cnt\n", testOpts(tables))
	x, err := s.Expr("src_updt_conn_cnt")
	if err != nil {
		t.Fatal(err)
	}
	tx := acltest.New()
	for _, want := range []string{"1", "2"} {
		if out, _ := x.AppendString(nil, NewEval(tx)); string(out) != want {
			t.Fatalf("got %s, want %s", out, want)
		}
	}
	y, err := s.Expr("src_updt_conn_cnt(bare)")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := y.Sample(NewEval(tx)); ok {
		t.Error("a table without conn_cnt gave a sample")
	}
}

// The new converters and fetches allocate nothing per evaluation on the
// common paths (the Eval's scratch space is reused).
func BenchmarkNewConverters(b *testing.B) {
	_, _, s, _ := build(b, "frontend fe\n mode http\n bind :80\n", Options{})
	tx := acltest.New().Header("Cookie", "a=1; b=22").Header("Host", "example.com")
	tx.Tgt = "/p/q?x=1"
	for _, expr := range []string{
		"req.hdr(host),xxh3", "req.hdr(host),xxh32(1)", "req.hdr(host),xxh64",
		"req.cook_val(b)", "url32", "base32", "req.hdr(host),json(utf8s)",
		"bin(" + mqtt311Connect + "),mqtt_field_value(connect,username)",
		"bin(" + fix44Server + "),fix_tag_value(MsgType)",
		"bin(" + pbRect + "),protobuf(48.59.1,int32)",
	} {
		x, err := s.Expr(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			e := NewEval(tx)
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.Reset()
				buf, _ = x.AppendString(buf[:0], e)
			}
		})
	}
}

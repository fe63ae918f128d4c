//go:build !bulwark_nolibcrypto

package libcrypto

import (
	"crypto"
	"fmt"

	"github.com/ebitengine/purego"
)

// bind dlopens path and resolves every function the signer calls. A
// missing symbol is an error, not purego's panic: an old or odd library
// leaves Bulwark on crypto/rsa.
func bind(path string, f *functions) error {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return fmt.Errorf("dlopen %s: %w", path, err)
	}
	var missing error
	sym := func(fptr any, name string) {
		if missing != nil {
			return
		}
		addr, err := purego.Dlsym(h, name)
		if err != nil || addr == 0 {
			missing = fmt.Errorf("%s: no symbol %s", path, name)
			return
		}
		purego.RegisterFunc(fptr, addr)
	}
	sym(&f.versionNum, "OpenSSL_version_num")
	sym(&f.versionText, "OpenSSL_version")
	sym(&f.d2iPrivateKey, "d2i_PrivateKey")
	sym(&f.pkeyFree, "EVP_PKEY_free")
	sym(&f.pkeySize, "EVP_PKEY_get_size")
	sym(&f.ctxNew, "EVP_PKEY_CTX_new")
	sym(&f.ctxFree, "EVP_PKEY_CTX_free")
	sym(&f.signInit, "EVP_PKEY_sign_init")
	sym(&f.setPadding, "EVP_PKEY_CTX_set_rsa_padding")
	sym(&f.setSignatureMD, "EVP_PKEY_CTX_set_signature_md")
	sym(&f.setPSSSaltLen, "EVP_PKEY_CTX_set_rsa_pss_saltlen")
	sym(&f.sign, "EVP_PKEY_sign")
	sym(&f.errGet, "ERR_get_error")
	sym(&f.errString, "ERR_error_string_n")
	sym(&f.errClear, "ERR_clear_error")
	// The digests crypto/tls signs: SHA-256/384/512 (TLS 1.3 and 1.2
	// signature_algorithms), SHA-1 (TLS 1.2 clients that ask for
	// rsa_pkcs1_sha1) and MD5+SHA-1 (TLS 1.0 and 1.1).
	f.digests = map[crypto.Hash]func() uintptr{}
	for h, name := range map[crypto.Hash]string{
		crypto.SHA256: "EVP_sha256", crypto.SHA384: "EVP_sha384", crypto.SHA512: "EVP_sha512",
		crypto.SHA1: "EVP_sha1", crypto.MD5SHA1: "EVP_md5_sha1",
	} {
		var fn func() uintptr
		sym(&fn, name)
		f.digests[h] = fn
	}
	return missing
}

//go:build bulwark_nolibcrypto

package libcrypto

import "errors"

// bind fails: this binary was built without libcrypto support (a fully
// static release, tag bulwark_nolibcrypto).
func bind(string, *functions) error {
	return errors.New("built without libcrypto support (bulwark_nolibcrypto)")
}

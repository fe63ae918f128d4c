package acl

import "testing"

// Vectors from the SHA-crypt specification and "openssl passwd".
func TestShaCrypt(t *testing.T) {
	cases := []struct{ pass, want string }{
		{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"secret", "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM."},
		{"secret", "$6$rounds=1000$zz$C5r8mjlxXKA2NBV7/6fM.e4fsokyXzgNxr3Kz/FmxFSMJenAWJMmKk39RHpl2aPOyi/JXCJMf7KkjcvDPOvsm."},
	}
	for _, c := range cases {
		got, ok := shaCrypt([]byte(c.pass), c.want)
		if !ok || got != c.want {
			t.Errorf("shaCrypt(%q, %q) = %q", c.pass, c.want, got)
		}
	}
	if _, ok := shaCrypt([]byte("x"), "$1$abc$"); ok {
		t.Error("MD5 crypt accepted")
	}
}

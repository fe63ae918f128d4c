package config

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	proxy := KeywordsFor(KindBackend)
	tests := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"timout", proxy, "timeout"},
		{"balanse", proxy, "balance"},
		{"xyzzy", proxy, ""},
		{"Timeout", proxy, "timeout"},
		{"tiemout", proxy, "timeout"}, // adjacent swap counts as one edit
		{"servr", proxy, "server"},
		{"defualt-server", proxy, "default-server"},
		{"httpchek", SubKeywordsIn(KindBackend, "option"), "httpchk"},
		{"dontlognul", SubKeywordsIn(KindBackend, "option"), "dontlognull"},
		{"tune.bufsiz", KeywordsFor(KindGlobal), "tune.bufsize"},
		{"maxcon", KeywordsFor(KindGlobal), "maxconn"},
		{"", proxy, ""},
		{"timout", nil, ""},
		{"ab", []string{"id", "acl"}, ""},
		{"ac", []string{"acl"}, "acl"},
		{strings.Repeat("a", 100), []string{strings.Repeat("a", 99)}, ""},
		{"ééa", []string{"éé"}, "éé"},
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, tt.candidates); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestSuggestTieIsOrderIndependent(t *testing.T) {
	a := Suggest("cat", []string{"bat", "cab"})
	b := Suggest("cat", []string{"cab", "bat"})
	if a != b || a != "bat" {
		t.Errorf("ties: %q vs %q, want bat", a, b)
	}
}

func TestOSADistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"abc", "abc", 0},
		{"abc", "acb", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // OSA, unlike full Damerau-Levenshtein (2)
		{"timeout", "timout", 1},
	}
	for _, tt := range tests {
		var rows [3][maxSuggestRunes + 1]int
		if got := osaDistance([]rune(tt.a), []rune(tt.b), &rows); got != tt.want {
			t.Errorf("osaDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkSuggest(b *testing.B) {
	cands := KeywordsFor(KindGlobal)
	b.ReportAllocs()
	for b.Loop() {
		Suggest("tune.ssl.cachesiz", cands)
	}
}

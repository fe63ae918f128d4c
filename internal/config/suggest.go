package config

import "unicode"

// maxSuggestRunes bounds the work done for absurd input: a keyword is
// never this long, so a longer word gets no suggestion.
const maxSuggestRunes = 64

// Suggest returns the candidate closest to word by Damerau-Levenshtein
// distance (optimal string alignment: insertions, deletions, substitutions
// and swaps of adjacent characters), or "" when none is close enough to be
// a plausible typo. The comparison ignores case, since "Timeout" is most
// likely "timeout". Ties go to the lexically smallest candidate so the
// answer does not depend on the order of candidates.
func Suggest(word string, candidates []string) string {
	w, ok := lowerRunes(nil, word)
	if !ok || len(w) == 0 {
		return ""
	}
	limit := suggestLimit(len(w))
	best, bestDist := "", limit+1
	var cr []rune
	var rows [3][maxSuggestRunes + 1]int
	for _, c := range candidates {
		cr, ok = lowerRunes(cr[:0], c)
		if !ok || len(cr) == 0 || lenGap(len(cr), len(w)) > limit {
			continue
		}
		d := osaDistance(w, cr, &rows)
		if d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// suggestLimit is the largest distance still worth suggesting for a word
// of n runes. Short words allow one edit; without that cap almost any
// three-letter word would be "close" to some keyword.
func suggestLimit(n int) int {
	switch {
	case n <= 5:
		return 1
	case n <= 12:
		return 2
	default:
		return 3
	}
}

// lowerRunes appends the lower-cased runes of s to buf; ok is false when s
// is longer than maxSuggestRunes.
func lowerRunes(buf []rune, s string) ([]rune, bool) {
	n := 0
	for _, r := range s {
		if n++; n > maxSuggestRunes {
			return buf, false
		}
		buf = append(buf, unicode.ToLower(r))
	}
	return buf, true
}

// osaDistance computes the optimal string alignment distance with three
// rolling rows instead of a full matrix; both inputs must be at most
// maxSuggestRunes long.
func osaDistance(a, b []rune, rows *[3][maxSuggestRunes + 1]int) int {
	prev2 := rows[0][:len(b)+1]
	prev := rows[1][:len(b)+1]
	cur := rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func lenGap(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

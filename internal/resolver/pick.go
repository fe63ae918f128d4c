package resolver

import "net/netip"

// Choice is what a server wants of an answer: its preferred family
// ("resolve-prefer", default ipv6), networks ("resolve-net") and the
// address it has now.
type Choice struct {
	Prefer string // "ipv4" or "ipv6"; "" is ipv6
	Nets   []netip.Prefix
	Cur    netip.Addr
	// Used reports an address another server of the backend resolving
	// the same name already has; such addresses are not taken unless
	// "resolve-opts allow-dup-ip" (Used is nil then).
	Used func(netip.Addr) bool
}

// Pick chooses a server's address among the records of an answer, as
// HAProxy weighs them: the preferred family first, then an address in a
// preferred network, then the address the server already has (so a
// server does not hop between the addresses of a name); the first record
// wins a tie. It reports false when no record is left.
func Pick(recs []Record, c Choice) (netip.Addr, bool) {
	best, bestScore := netip.Addr{}, -1
	for _, r := range recs {
		a := r.Addr
		if !a.IsValid() {
			continue
		}
		if c.Used != nil && a != c.Cur && c.Used(a) {
			continue
		}
		score := 0
		if (c.Prefer == "ipv4") == a.Is4() {
			score += 4
		}
		for _, n := range c.Nets {
			if n.Contains(a) {
				score += 2
				break
			}
		}
		if a == c.Cur {
			score++
		}
		if score > bestScore {
			best, bestScore = a, score
		}
	}
	return best, bestScore >= 0
}

package balance

import "sync"

// Tree membership of a server in FWRR. treeA and treeB alternate as the
// "init" tree (servers entering the current window, heaviest first) and
// the "next" tree (servers whose next turn falls in the next window).
const (
	treeNone uint8 = iota
	treeCurr
	treeA
	treeB
)

// rrServer is the FWRR scheduling state of one server.
type rrServer struct {
	tree    uint8
	usable  bool // committed usability (eligible at the last Update)
	ew      int  // committed eweight
	npos    int  // next position in the window
	lpos    int  // last position, to re-place a server after a weight change
	rweight int  // remainder of total/eweight carried between turns
	key     int64
	seq     uint64 // insertion order: equal keys are served FIFO
}

// rrGroup is one FWRR group (active or backup servers).
type rrGroup struct {
	currPos, currWeight, nextWeight int
	init                            uint8 // treeA or treeB
}

func (g *rrGroup) next() uint8 { return treeA + treeB - g.init }

// fwrr is HAProxy's "roundrobin" (lb_fwrr): a server of eweight w among a
// total W takes a turn every W/w positions (the remainder is carried so
// that it gets exactly w turns per window of W picks), the server with the
// earliest position goes first, and a window ends when every turn has been
// taken. Weight changes take effect for the rest of the current window and
// fully from the next one. The trees of HAProxy are replaced by scans over
// the group's servers, fast enough for the usual few dozen servers.
type fwrr struct {
	mu   sync.Mutex
	pool pool
	srv  []rrServer
	act  rrGroup
	bck  rrGroup
	seq  uint64
	full []int // scratch list of servers skipped during one pick
}

func newFWRR(p pool) *fwrr {
	b := &fwrr{pool: p, srv: make([]rrServer, len(p.srvs))}
	b.pool.recount()
	b.act.init, b.bck.init = treeA, treeA
	for i, s := range p.srvs {
		rs := &b.srv[i]
		rs.usable = p.eligible(i)
		if !rs.usable {
			continue
		}
		rs.ew = s.EWeight()
		g := b.group(i)
		g.nextWeight += rs.ew
		b.queueByWeight(i, g.init)
	}
	for _, g := range []*rrGroup{&b.act, &b.bck} {
		g.currPos, g.currWeight = g.nextWeight, g.nextWeight
	}
	return b
}

func (b *fwrr) group(i int) *rrGroup {
	if b.pool.srvs[i].Backup {
		return &b.bck
	}
	return &b.act
}

// queueByWeight puts a server in an init/next tree, heaviest first.
func (b *fwrr) queueByWeight(i int, tree uint8) {
	rs := &b.srv[i]
	rs.key = int64(maxEWeight - rs.ew)
	rs.tree = tree
	b.seq++
	rs.seq = b.seq
}

// queue places a server after its turn: in the current window when its
// next position fits, else in the next window's tree.
func (b *fwrr) queue(i int, g *rrGroup) {
	rs := &b.srv[i]
	switch {
	case !rs.usable:
		rs.tree = treeNone
	case rs.ew <= 0 || rs.npos >= 2*g.currWeight || rs.npos >= g.currWeight+g.nextWeight:
		rs.npos -= g.currWeight
		b.queueByWeight(i, g.next())
	default:
		// Position first; among equal positions the server with the
		// largest share of its turn still owed (rweight) and the
		// heaviest weight goes first.
		rs.key = int64(MaxWeight)*int64(rs.npos) + int64(maxEWeight+rs.rweight-rs.ew)/WeightScale
		rs.tree = treeCurr
		b.seq++
		rs.seq = b.seq
	}
}

// minOf returns the group member of tree with the lowest (key, seq).
func (b *fwrr) minOf(backup bool, tree uint8) int {
	best := -1
	for i := range b.srv {
		rs := &b.srv[i]
		if rs.tree != tree || b.pool.srvs[i].Backup != backup {
			continue
		}
		if best < 0 || rs.key < b.srv[best].key || rs.key == b.srv[best].key && rs.seq < b.srv[best].seq {
			best = i
		}
	}
	return best
}

// fromGroup returns the server whose turn it is: the earliest in the
// current window if its turn has come, else a server entering the window,
// else the earliest anyway (a hole in the window).
func (b *fwrr) fromGroup(g *rrGroup, backup bool) int {
	s1 := b.minOf(backup, treeCurr)
	if s1 >= 0 && b.srv[s1].ew > 0 && b.srv[s1].npos <= g.currPos {
		return s1
	}
	if s2 := b.minOf(backup, g.init); s2 >= 0 && b.srv[s2].ew > 0 {
		b.srv[s2].npos, b.srv[s2].rweight = 0, 0
		return s2
	}
	return s1
}

// advance moves a server's next turn W/w positions ahead, carrying the
// remainder so that w turns fit exactly in W positions.
func (b *fwrr) advance(g *rrGroup, i int) {
	rs := &b.srv[i]
	if rs.ew == 0 {
		return
	}
	if rs.npos == 0 {
		rs.npos = g.currPos
	}
	rs.lpos = rs.npos
	rs.npos += g.nextWeight / rs.ew
	rs.rweight += g.nextWeight % rs.ew
	if rs.rweight >= rs.ew {
		rs.rweight -= rs.ew
		rs.npos++
	}
}

func (b *fwrr) switchTrees(g *rrGroup) {
	g.init = g.next()
	g.currWeight = g.nextWeight
	g.currPos = g.currWeight
}

func (b *fwrr) Pick(k Key) (int, Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, st := b.pick(k.avoidIdx())
	if st == OK && !b.pool.eligible(i) {
		// The server went away without an Update: catch up and retry.
		b.pool.release(i)
		b.update()
		i, st = b.pick(k.avoidIdx())
	}
	return i, st
}

func (b *fwrr) pick(avoid int) (int, Status) {
	backup, only, none := b.pool.useBackup()
	if none {
		return -1, NoServer
	}
	if only >= 0 {
		return b.pool.take(only)
	}
	g := &b.act
	if backup {
		g = &b.bck
	}
	switched := false
	avoided := -1
	b.full = b.full[:0]
	srv := -1
	for {
		if g.currWeight == 0 {
			g.currPos, g.currWeight = g.nextWeight, g.nextWeight
		}
		for {
			srv = b.fromGroup(g, backup)
			if srv >= 0 {
				break
			}
			if switched {
				srv = avoided
				break
			}
			switched = true
			b.switchTrees(g)
		}
		if srv < 0 || srv == avoided {
			break
		}
		b.advance(g, srv)
		b.srv[srv].tree = treeNone
		g.currPos++
		if b.pool.srvs[srv].hasRoom() {
			if srv != avoid || avoided >= 0 {
				break
			}
			avoided = srv
		}
		b.full = append(b.full, srv)
	}
	if srv >= 0 {
		b.queue(srv, g)
	}
	// Servers skipped because full (or avoided) keep their place, or
	// re-enter by weight if the window changed under them.
	for _, f := range b.full {
		if f == srv {
			continue
		}
		if switched {
			b.queueByWeight(f, g.init)
		} else {
			b.queue(f, g)
		}
	}
	if srv < 0 {
		return -1, AllFull
	}
	return b.pool.take(srv)
}

func (b *fwrr) Update() {
	b.mu.Lock()
	b.update()
	b.mu.Unlock()
}

// update applies each server's change the way HAProxy's status up/down
// and weight-update callbacks do.
func (b *fwrr) update() {
	for i, s := range b.pool.srvs {
		rs := &b.srv[i]
		g := b.group(i)
		now := b.pool.eligible(i)
		ew := 0
		if now {
			ew = s.EWeight()
		}
		switch {
		case !rs.usable && !now:
			rs.ew = ew
		case rs.usable && !now:
			g.nextWeight -= rs.ew
			rs.usable, rs.ew, rs.tree = false, 0, treeNone
		case !rs.usable && now:
			g.nextWeight += ew
			rs.usable, rs.ew = true, ew
			rs.npos = g.currPos + (g.nextWeight+g.currWeight-g.currPos)/ew
			b.queue(i, g)
		case rs.ew != ew:
			g.nextWeight += ew - rs.ew
			rs.ew = ew
			switch rs.tree {
			case g.init:
				b.queueByWeight(i, g.init)
				continue
			case g.next():
				rs.npos += g.currWeight
			case treeNone:
				rs.npos = g.currPos
			}
			prev := rs.npos
			step := g.nextWeight / ew
			rs.npos, rs.rweight = rs.lpos+step, 0
			rs.npos = min(rs.npos, prev)
			if rs.npos < g.currPos+2 {
				rs.npos = g.currPos + step
			}
			b.queue(i, g)
		}
	}
	b.pool.recount()
}

func (b *fwrr) Release(i int) { b.pool.release(i) }

var _ Balancer = (*fwrr)(nil)

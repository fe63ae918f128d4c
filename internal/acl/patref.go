package acl

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"bulwark/internal/config"
)

// PatRefs are the pattern references of one configuration generation, as
// "show map" and "show acl" list them (MG 9.3): one per pattern file,
// shared by every ACL and map that names it, and one per ACL line for its
// inline patterns, numbered in load order. The runtime API changes their
// entries and the ACLs and maps built on them see the change on their
// next evaluation.
//
// They belong to the snapshot they were compiled with: a reload reads the
// files again and what the runtime API changed is gone, exactly as in
// HAProxy. Mutations are serialised by one lock (they are rare and an ACL
// line may read several references); evaluation never takes it.
type PatRefs struct {
	mu   sync.Mutex
	refs []*PatRef
	seq  uint64 // last entry id
}

// NewPatRefs returns an empty set of references.
func NewPatRefs() *PatRefs { return &PatRefs{} }

// PatRef is one pattern reference.
type PatRef struct {
	ID   int
	File string // "" for the inline patterns of an ACL line
	Desc string
	// Map and ACL say which commands see the reference; Samples that its
	// entries carry values ("add acl" refuses such a reference).
	Map, ACL, Samples bool

	set       *PatRefs
	cur, next uint32
	ents      []*PatEntry
	users     []patUser
	maps      map[string]*mapView // the map views of this file, by match and output kind
}

// PatEntry is one entry of a reference. ID is what "show map" prints and
// "del map #<ref>" takes.
type PatEntry struct {
	ID         uint64
	Key, Value string
	Ver        uint32
}

// patUser is an ACL line or a map view compiled from references.
type patUser interface {
	// check parses an entry of r as the user would, keeping nothing.
	check(r *PatRef, key, value string) error
	// rebuild recompiles the user from the visible entries of its
	// references.
	rebuild()
	// get answers "get map|acl" for this user.
	get(r *PatRef, text string, asMap bool) string
}

// List returns the references in id order.
func (ps *PatRefs) List() []*PatRef {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]*PatRef(nil), ps.refs...)
}

// Lookup finds a reference by "#<id>" or file name.
func (ps *PatRefs) Lookup(ident string) *PatRef {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if rest, ok := strings.CutPrefix(ident, "#"); ok {
		id, err := strconv.Atoi(rest)
		if err != nil {
			return nil
		}
		for _, r := range ps.refs {
			if r.ID == id {
				return r
			}
		}
		return nil
	}
	for _, r := range ps.refs {
		if r.File != "" && r.File == ident {
			return r
		}
	}
	return nil
}

// newRef registers a reference with entries of version 0; the caller
// holds no lock (compilation is single-threaded).
func (ps *PatRefs) newRef(file, desc string) *PatRef {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r := &PatRef{ID: len(ps.refs), File: file, Desc: desc, set: ps, maps: map[string]*mapView{}}
	ps.refs = append(ps.refs, r)
	return r
}

func (ps *PatRefs) fileRef(file string) *PatRef {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, r := range ps.refs {
		if r.File == file {
			return r
		}
	}
	return nil
}

// load appends entries of version 0 at compile time.
func (r *PatRef) load(key, value string) {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	r.set.seq++
	r.ents = append(r.ents, &PatEntry{ID: r.set.seq, Key: key, Value: value})
}

// Versions returns curr_ver and next_ver.
func (r *PatRef) Versions() (cur, next uint32) {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	return r.cur, r.next
}

// Count is entry_cnt: the entries of every version.
func (r *PatRef) Count() int {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	return len(r.ents)
}

// Entries returns the entries of version ver, or of the current version.
func (r *PatRef) Entries(ver *uint32) []PatEntry {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	v := r.cur
	if ver != nil {
		v = *ver
	}
	var out []PatEntry
	for _, e := range r.ents {
		if e.Ver == v {
			out = append(out, *e)
		}
	}
	return out
}

// visible is the entries matched against; the caller holds the lock.
func (r *PatRef) visible() []*PatEntry {
	var out []*PatEntry
	for _, e := range r.ents {
		if e.Ver == r.cur {
			out = append(out, e)
		}
	}
	return out
}

// publish recompiles every user after a change of the current version.
func (r *PatRef) publish() {
	for _, u := range r.users {
		u.rebuild()
	}
}

// verAfter reports a > b in HAProxy's wrapping 32-bit version order.
func verAfter(a, b uint32) bool { return int32(a-b) > 0 }

// CLIError is an answer of the runtime API, in HAProxy's words (which
// are sentences, hence not fmt.Errorf).
type CLIError string

func (e CLIError) Error() string { return string(e) }

// Errors of the runtime API commands.
const (
	ErrVerFuture   CLIError = "Version number in the future, please use 'prepare map' before."
	ErrVerRange    CLIError = "Version number out of range."
	ErrKeyNotFound CLIError = "Key not found."
	ErrNoEntry     CLIError = "entry not found."
)

// Add adds entries to version ver (nil: the current one). Every entry is
// checked by every user first, so a bad one adds nothing.
func (r *PatRef) Add(ver *uint32, kv [][2]string) error {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	v := r.cur
	if ver != nil {
		v = *ver
		if verAfter(v, r.next) {
			return ErrVerFuture
		}
	}
	for _, e := range kv {
		for _, u := range r.users {
			if err := u.check(r, e[0], e[1]); err != nil {
				return err
			}
		}
	}
	for _, e := range kv {
		r.set.seq++
		r.ents = append(r.ents, &PatEntry{ID: r.set.seq, Key: e[0], Value: e[1], Ver: v})
	}
	if v == r.cur {
		r.publish()
	}
	return nil
}

// entryRef parses "#<ref>" as printed by "show map" (0x<hex>).
func entryRef(s string) (uint64, bool) {
	rest, ok := strings.CutPrefix(s, "#")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(rest, "0x"), 16, 64)
	return n, err == nil
}

// Del removes the current version's entries with key, or the entry
// "#<ref>".
func (r *PatRef) Del(key string) error {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	id, byRef := entryRef(key)
	kept := r.ents[:0]
	found := false
	for _, e := range r.ents {
		if byRef && e.ID == id || !byRef && e.Ver == r.cur && e.Key == key {
			found = true
			continue
		}
		kept = append(kept, e)
	}
	clear(r.ents[len(kept):])
	r.ents = kept
	if !found {
		return ErrKeyNotFound
	}
	r.publish()
	return nil
}

// Set changes the value of the current version's entries with key, or of
// the entry "#<ref>". The new value is checked by the map users first.
func (r *PatRef) Set(key, value string) error {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	id, byRef := entryRef(key)
	var hit []*PatEntry
	for _, e := range r.ents {
		if byRef && e.ID == id || !byRef && e.Ver == r.cur && e.Key == key {
			hit = append(hit, e)
		}
	}
	if len(hit) == 0 {
		return ErrNoEntry
	}
	for _, u := range r.users {
		if mu, ok := u.(*mapView); ok {
			if _, err := parseMapValue(value, mu.out); err != nil {
				return err
			}
		}
	}
	for _, e := range hit {
		e.Value = value
	}
	r.publish()
	return nil
}

// Clear removes the entries of version ver (nil: the current one).
func (r *PatRef) Clear(ver *uint32) {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	v := r.cur
	if ver != nil {
		v = *ver
	}
	kept := r.ents[:0]
	for _, e := range r.ents {
		if e.Ver != v {
			kept = append(kept, e)
		}
	}
	clear(r.ents[len(kept):])
	r.ents = kept
	if v == r.cur {
		r.publish()
	}
}

// Prepare allocates the next version.
func (r *PatRef) Prepare() uint32 {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	r.next++
	return r.next
}

// Commit makes version ver current at once and drops the older ones.
func (r *PatRef) Commit(ver uint32) error {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	if !verAfter(ver, r.cur) || verAfter(ver, r.next) {
		return ErrVerRange
	}
	kept := r.ents[:0]
	for _, e := range r.ents {
		if e.Ver == ver || verAfter(e.Ver, ver) {
			kept = append(kept, e)
		}
	}
	clear(r.ents[len(kept):])
	r.ents = kept
	r.cur = ver
	r.publish()
	return nil
}

// Get answers "get map|acl <ref> <value>": one line per way the reference
// is matched.
func (r *PatRef) Get(text string, asMap bool) string {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	var b strings.Builder
	seen := map[string]bool{}
	for _, u := range r.users {
		ln := u.get(r, text, asMap)
		if !seen[ln] {
			seen[ln] = true
			b.WriteString(ln + "\n")
		}
	}
	return b.String()
}

// caseWord and idxWord are the "case=" and "idx=" of "get map|acl".
func caseWord(icase bool) string {
	if icase {
		return "insensitive"
	}
	return "sensitive"
}

func idxWord(m matchMethod, icase bool) string {
	switch m {
	case methodIP:
		return "tree"
	case methodStr, methodBeg:
		if !icase {
			return "tree"
		}
	}
	return "list"
}

// parseProbe turns the text of "get map|acl" into the sample a matcher of
// method m receives.
func parseProbe(m matchMethod, text string) Sample {
	switch m {
	case methodIP:
		if a, err := netip.ParseAddr(text); err == nil {
			return Sample{Kind: KindIP, IP: a.Unmap()}
		}
	case methodInt:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return intSample(n)
		}
	}
	return Sample{Kind: KindStr, B: []byte(text)}
}

// lineUser is an ACL line built from references: its inline patterns'
// reference first, then its files.
type lineUser struct {
	ln     *line
	refs   []*PatRef
	inline *PatRef // refs[0], whose patterns take the operator
	op     string
	opts   patternOpts
}

func (u *lineUser) check(r *PatRef, key, _ string) error {
	m := matcher{method: u.ln.m.method, icase: u.ln.m.icase}
	op := ""
	if r == u.inline {
		op = u.op
	}
	// Patterns added at run time are never resolved, as in HAProxy: a
	// name there is an error, not a DNS query from the CLI.
	o := u.opts
	o.noDNS = true
	return m.add(key, op, &o)
}

func (u *lineUser) rebuild() {
	m := &matcher{method: u.ln.m.method, icase: u.ln.m.icase}
	for _, r := range u.refs {
		op := ""
		if r == u.inline {
			op = u.op
		}
		for _, e := range r.visible() {
			// Every entry was checked when it was added.
			_ = m.add(e.Key, op, &u.opts)
		}
	}
	m.finish()
	u.ln.live.Store(m)
}

func (u *lineUser) get(r *PatRef, text string, asMap bool) string {
	meth, icase := u.ln.m.method, u.ln.m.icase
	s := parseProbe(meth, text)
	op := ""
	if r == u.inline {
		op = u.op
	}
	var best *PatEntry
	bestLen := -1
	for _, e := range r.visible() {
		m := matcher{method: meth, icase: icase}
		if m.add(e.Key, op, &u.opts) != nil {
			continue
		}
		m.finish()
		var e0 Eval
		if !m.match(&e0, &s) {
			continue
		}
		// The trees answer the longest match, the lists the first.
		n := len(e.Key)
		if meth == methodIP && len(m.nets) > 0 {
			n = m.nets[0].Bits()
		}
		if best == nil || idxWord(meth, icase) == "tree" && n > bestLen {
			best, bestLen = e, n
		}
	}
	return probeLine(meth, icase, best, asMap, "")
}

// probeLine writes one line of "get map|acl".
func probeLine(meth matchMethod, icase bool, hit *PatEntry, asMap bool, typ string) string {
	head := fmt.Sprintf("type=%s, case=%s, ", meth, caseWord(icase))
	if !asMap {
		if hit == nil {
			return head + "match=no"
		}
		return head + fmt.Sprintf("match=yes, idx=%s, pattern=\"%s\"", idxWord(meth, icase), hit.Key)
	}
	if hit == nil {
		return head + "found=no"
	}
	val := "value=none"
	if typ != "" {
		val = fmt.Sprintf("value=\"%s\", type=\"%s\"", hit.Value, typ)
	}
	return head + fmt.Sprintf("found=yes, idx=%s, key=\"%s\", %s", idxWord(meth, icase), hit.Key, val)
}

// At sets the configuration position that later map references name in
// their description ("used by map at file … line …").
func (s *Set) At(pos config.Pos) { s.c.pos = pos }

// Refs returns the references the set was compiled with.
func (s *Set) Refs() *PatRefs { return s.c.refs }

// patternFileRef returns the reference of a pattern file, loading it on
// first use. asMap splits each line into a key and a value.
func (c *compiler) patternFileRef(path string, asMap bool) (*PatRef, error) {
	kind := "acl"
	if asMap {
		kind = "map"
	}
	r := c.refs.fileRef(path)
	if r == nil {
		lines, err := c.readLines(path)
		if err != nil {
			return nil, err
		}
		r = c.refs.newRef(path, fmt.Sprintf("pattern loaded from file '%s' used by %s at file '%s' line %d",
			path, kind, c.pos.File, c.pos.Line))
		for _, ln := range lines {
			if asMap {
				k, v := splitMapLine(ln.text)
				r.load(k, v)
			} else {
				r.load(ln.text, "")
			}
		}
	}
	if asMap {
		r.Map, r.Samples = true, true
	} else {
		r.ACL = true
	}
	return r, nil
}

// AddIfAbsent adds key to the current version unless an entry of that
// version already has it ("add-acl": HAProxy looks the key up first so
// that a rule matching every request adds it once). A key a user cannot
// parse is refused as by "add acl".
func (r *PatRef) AddIfAbsent(key string) error {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	for _, e := range r.ents {
		if e.Ver == r.cur && e.Key == key {
			return nil
		}
	}
	return r.addLocked(key, "")
}

// Upsert sets the value of the current version's entries with key, or
// adds the entry when there is none ("set-map"). The value is checked by
// the map users first, the key by every user when it is new.
func (r *PatRef) Upsert(key, value string) error {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	var hit []*PatEntry
	for _, e := range r.ents {
		if e.Ver == r.cur && e.Key == key {
			hit = append(hit, e)
		}
	}
	if len(hit) == 0 {
		return r.addLocked(key, value)
	}
	same := true
	for _, e := range hit {
		same = same && e.Value == value
	}
	if same {
		// A rule setting what is there already (every request of a
		// client) costs no rebuild.
		return nil
	}
	for _, u := range r.users {
		if mu, ok := u.(*mapView); ok {
			if _, err := parseMapValue(value, mu.out); err != nil {
				return err
			}
		}
	}
	for _, e := range hit {
		e.Value = value
	}
	r.publish()
	return nil
}

// DelKey removes the current version's entries with key ("del-acl",
// "del-map"); unlike Del it never reads "#<ref>", as a rule's key is data.
func (r *PatRef) DelKey(key string) bool {
	r.set.mu.Lock()
	defer r.set.mu.Unlock()
	kept := r.ents[:0]
	found := false
	for _, e := range r.ents {
		if e.Ver == r.cur && e.Key == key {
			found = true
			continue
		}
		kept = append(kept, e)
	}
	clear(r.ents[len(kept):])
	r.ents = kept
	if found {
		r.publish()
	}
	return found
}

// addLocked adds one checked entry to the current version; the caller
// holds the lock.
func (r *PatRef) addLocked(key, value string) error {
	for _, u := range r.users {
		if err := u.check(r, key, value); err != nil {
			return err
		}
	}
	r.set.seq++
	r.ents = append(r.ents, &PatEntry{ID: r.set.seq, Key: key, Value: value, Ver: r.cur})
	r.publish()
	return nil
}

// File finds the reference loaded from file, by name only (the actions
// add-acl, set-map, ... name files; "#<id>" is the runtime API's).
// An empty name is no file (inline patterns have none).
func (ps *PatRefs) File(file string) *PatRef {
	if file == "" {
		return nil
	}
	return ps.fileRef(file)
}

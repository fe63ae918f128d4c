package rules

import (
	"bulwark/internal/acl"
	"bulwark/internal/model"
)

// compilePatAction compiles add-acl(<file>) <key fmt>, del-acl(<file>)
// <key fmt>, del-map(<file>) <key fmt> and set-map(<file>) <key fmt>
// <value fmt> (CM 4.2). They change the pattern reference loaded from
// <file>, the one "show map|acl" lists and "add map" changes, so every
// ACL and map built on it sees the change from its next evaluation. The
// reference is looked up by name when the rule runs: a file no ACL or map
// loads names nothing and the rule does nothing, as in HAProxy 2.6.
func compilePatAction(c *compiler, r *model.Rule) action {
	want := 1
	if r.Action == "set-map" {
		want = 2
	}
	if len(r.Args) != want {
		c.errf(r.Pos, r, "expects exactly %d arguments", want)
		return nil
	}
	a := &patAction{refs: c.set.Refs(), file: r.ActionArg, op: r.Action}
	if a.key = c.format(r, r.Args[0]); a.key == nil {
		return nil
	}
	if want == 2 {
		if a.value = c.format(r, r.Args[1]); a.value == nil {
			return nil
		}
	}
	return a
}

type patAction struct {
	refs       *acl.PatRefs
	file, op   string
	key, value *acl.Format
}

func (a *patAction) run(x *Exec, r *rule, res *Result) bool {
	ref := a.refs.File(a.file)
	if ref == nil {
		return false
	}
	key := string(x.render(a.key))
	// A key or value the reference's users cannot parse is dropped, as
	// HAProxy's rule fails silently where "add map" would answer an error.
	switch a.op {
	case "add-acl":
		_ = ref.AddIfAbsent(key)
	case "set-map":
		_ = ref.Upsert(key, string(x.render(a.value)))
	default:
		ref.DelKey(key)
	}
	return false
}

package proxy

import (
	"fmt"
	"strconv"
	"strings"

	"bulwark/internal/acl"
)

// The map and ACL commands of the runtime API (MG 9.3): they act on the
// pattern references of the running snapshot, so a change is seen by the
// next request, and a reload, which compiles the files again, forgets it
// as HAProxy does.

// mapCmd says whether a command acts on maps or ACLs, for its texts.
type mapCmd struct {
	isMap bool
}

func (k mapCmd) word() string {
	if k.isMap {
		return "map"
	}
	return "acl"
}

// noun is how HAProxy's messages name the kind: "map" or "ACL".
func (k mapCmd) noun() string {
	if k.isMap {
		return "map"
	}
	return "ACL"
}

func (k mapCmd) unknown() string {
	return "Unknown " + k.noun() + " identifier. Please use #<id> or <file>.\n"
}

// visible says whether the command family lists the reference: "show map"
// the references used by maps, "show acl" those used by ACLs.
func (k mapCmd) visible(r *acl.PatRef) bool {
	if k.isMap {
		return r.Map
	}
	return r.ACL
}

// version reads an optional leading "@<ver>". HAProxy reads the number
// with strtoul and no check, so "@x" is version 0: done the same way.
func version(args []string) (*uint32, []string) {
	if len(args) == 0 || !strings.HasPrefix(args[0], "@") {
		return nil, args
	}
	digits := args[0][1:]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	v, _ := strconv.ParseUint(digits[:n], 10, 32)
	u := uint32(v)
	return &u, args[1:]
}

// ref finds the reference named by ident; strict requires the command's
// family to list it (HAProxy's show, del, clear and prepare do; add, set,
// get and commit find any reference).
func (rt *Runtime) ref(k mapCmd, ident string, strict bool) (*acl.PatRef, string) {
	if rt.refs == nil {
		return nil, k.unknown()
	}
	r := rt.refs.Lookup(ident)
	if r == nil || strict && !k.visible(r) {
		return nil, k.unknown()
	}
	return r, ""
}

func (rt *Runtime) apiShowMap(k mapCmd, args []string) string {
	ver, args := version(args)
	var b strings.Builder
	if len(args) == 0 {
		b.WriteString("# id (file) description\n")
		if rt.refs == nil {
			return b.String()
		}
		for _, r := range rt.refs.List() {
			if !k.visible(r) {
				continue
			}
			cur, next := r.Versions()
			fmt.Fprintf(&b, "%d (%s) %s. curr_ver=%d next_ver=%d entry_cnt=%d\n", r.ID, r.File, r.Desc, cur, next, r.Count())
		}
		return b.String()
	}
	r, msg := rt.ref(k, args[0], true)
	if r == nil {
		return msg
	}
	for _, e := range r.Entries(ver) {
		if r.Samples {
			fmt.Fprintf(&b, "%#x %s %s\n", e.ID, e.Key, e.Value)
		} else {
			fmt.Fprintf(&b, "%#x %s\n", e.ID, e.Key)
		}
	}
	return b.String()
}

func (rt *Runtime) apiGetMap(k mapCmd, args []string) string {
	if len(args) < 2 {
		return "Missing " + k.noun() + " identifier and/or key.\n"
	}
	r, msg := rt.ref(k, args[0], false)
	if r == nil {
		return msg
	}
	return r.Get(strings.Join(args[1:], " "), k.isMap)
}

func (rt *Runtime) apiAddMap(k mapCmd, cs *apiSession, args []string) string {
	ver, args := version(args)
	payload, hasPayload := cs.payload, cs.hasPayload
	want := 3
	if !k.isMap {
		want = 2
	}
	if len(args) != want && !(hasPayload && len(args) == 1) {
		if k.isMap {
			return "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
		}
		return "'add acl' expects two parameters: ACL identifier and pattern.\n"
	}
	r, msg := rt.ref(k, args[0], false)
	if r == nil {
		return msg
	}
	if !k.isMap && r.Samples {
		return "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n"
	}
	var kv [][2]string
	if len(args) > 1 {
		v := ""
		if k.isMap {
			v = args[2]
		}
		kv = append(kv, [2]string{args[1], v})
	} else {
		// Each payload line is a key then, for a map, the rest of the
		// line as the value, spaces included.
		for _, ln := range strings.Split(payload, "\n") {
			ln = strings.TrimSpace(ln)
			if ln == "" {
				continue
			}
			key, val := ln, ""
			if k.isMap {
				i := strings.IndexAny(ln, " \t")
				if i < 0 {
					return "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
				}
				key, val = ln[:i], strings.TrimLeft(ln[i:], " \t")
			}
			kv = append(kv, [2]string{key, val})
		}
	}
	if err := r.Add(ver, kv); err != nil {
		return strings.TrimSuffix(err.Error(), ".") + ".\n"
	}
	return ""
}

func (rt *Runtime) apiDelMap(k mapCmd, args []string) string {
	if len(args) != 2 {
		return "This command expects two parameters: " + k.noun() + " identifier and key.\n"
	}
	r, msg := rt.ref(k, args[0], true)
	if r == nil {
		return msg
	}
	if err := r.Del(args[1]); err != nil {
		return err.Error() + "\n"
	}
	return ""
}

func (rt *Runtime) apiSetMap(args []string) string {
	k := mapCmd{isMap: true}
	if len(args) != 3 {
		return "'set map' expects three parameters: map identifier, key and value.\n"
	}
	r, msg := rt.ref(k, args[0], false)
	if r == nil {
		return msg
	}
	if err := r.Set(args[1], args[2]); err != nil {
		return err.Error() + "\n"
	}
	return ""
}

func (rt *Runtime) apiClearMap(k mapCmd, args []string) string {
	ver, args := version(args)
	if len(args) == 0 {
		return "Missing " + k.noun() + " identifier.\n"
	}
	r, msg := rt.ref(k, args[0], true)
	if r == nil {
		return msg
	}
	r.Clear(ver)
	return ""
}

func (rt *Runtime) apiPrepareMap(k mapCmd, args []string) string {
	if len(args) == 0 {
		return "Missing " + k.noun() + " identifier.\n"
	}
	r, msg := rt.ref(k, args[0], true)
	if r == nil {
		return msg
	}
	return fmt.Sprintf("New version created: %d\n", r.Prepare())
}

func (rt *Runtime) apiCommitMap(k mapCmd, args []string) string {
	ver, args := version(args)
	if ver == nil {
		return "Missing version number.\n"
	}
	if len(args) == 0 {
		return "Missing " + k.noun() + " identifier.\n"
	}
	r, msg := rt.ref(k, args[0], false)
	if r == nil {
		return msg
	}
	if err := r.Commit(*ver); err != nil {
		return err.Error() + "\n"
	}
	return ""
}

// mapCommands are the map and ACL commands. HAProxy 2.6 runs them at
// every level; Bulwark asks for "operator" for those that change
// patterns (docs/secure-defaults.md).
func mapCommands() []apiCommand {
	var out []apiCommand
	for _, k := range []mapCmd{{true}, {false}} {
		k := k
		w := k.word()
		ref := "<" + w + ">"
		out = append(out,
			apiCommand{"show " + w, "[@<ver>] [" + w + "]", "user", "report available " + w + "s or dump a " + w + "'s contents",
				func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiShowMap(k, a) }},
			apiCommand{"get " + w, ref + " <value>", "user", "report the keys and values matching a sample for a " + w,
				func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiGetMap(k, a) }},
			apiCommand{"add " + w, "[@<ver>] " + ref + " <key> [<value>]", "operator", "add " + w + " entry (payload supported instead of key/val)",
				func(rt *Runtime, cs *apiSession, a []string) string { return rt.apiAddMap(k, cs, a) }},
			apiCommand{"del " + w, ref + " [<key>|#<ref>]", "operator", "delete " + w + " entries matching arguments",
				func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiDelMap(k, a) }},
			apiCommand{"clear " + w, "[@<ver>] " + ref, "operator", "clear the contents of this " + w,
				func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiClearMap(k, a) }},
			apiCommand{"prepare " + w, ref, "operator", "prepare a new version for atomic " + w + " replacement",
				func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiPrepareMap(k, a) }},
			apiCommand{"commit " + w, "@<ver> " + ref, "operator", "commit the " + w + " at this version",
				func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiCommitMap(k, a) }},
		)
	}
	out = append(out, apiCommand{"set map", "<map> [<key>|#<ref>] <value>", "operator", "modify a map entry",
		func(rt *Runtime, _ *apiSession, a []string) string { return rt.apiSetMap(a) }})
	return out
}

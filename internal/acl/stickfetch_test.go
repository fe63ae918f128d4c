package acl

import (
	"testing"

	"bulwark/internal/stick"
)

// The plain reads name the stored type they read: a typo in the tables
// would read another counter.
func TestCounterNamesMatchDataTypes(t *testing.T) {
	for _, names := range []map[string]counterSpec{sharedCounterNames, tableCounterNames, tableArrayNames} {
		for x, c := range names {
			if c.op != opGet && c.op != opGetElem {
				continue
			}
			if dt, ok := stick.DataTypeByName(x); !ok || dt != c.dt {
				t.Errorf("%s reads data type %d, its name is type %d (%v)", x, c.dt, dt, ok)
			}
		}
	}
}

package statestore_test

import (
	"testing"

	"mediastate/shared/statestore"
	"mediastate/test/osstest"
)

// TestCreateFirstCostOnColdInstance asserts the README's cost rows for an
// upload event (UpdateOptions.CreateFirst) whose MediaId already exists,
// reaching an instance that has not seen it: the create-first PUT fails
// with 409, then the newest version is read; a new event costs one more
// PUT, a duplicate none.
func TestCreateFirstCostOnColdInstance(t *testing.T) {
	env := osstest.Memory(nil)
	writer := newStore(t, env.Bucket(t), statestore.Options{})
	update(t, writer, "m1", "e1", statestore.UpdateOptions{CreateFirst: true})

	for _, tc := range []struct {
		name, item, want string
		ver              uint64
	}{
		{"existing id, new event", "e2", "GetObject=1 ListObjectsV2=1 PutObject=2", 2},
		{"existing id, duplicate", "e1", "GetObject=1 ListObjectsV2=1 PutObject=1", 2},
	} {
		cold := newStore(t, env.Bucket(t), statestore.Options{}) // an instance that has not seen m1
		res, ops := update(t, cold, "m1", tc.item, statestore.UpdateOptions{CreateFirst: true})
		if got := fmtOps(ops); got != tc.want || res.Version != tc.ver {
			t.Errorf("%s: requests %q version %d, want %q version %d", tc.name, got, res.Version, tc.want, tc.ver)
		}
	}
}

package manager_test

import (
	"bytes"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/graph"
	"github.com/passkeyd/passkeyd/manager"
	"github.com/passkeyd/passkeyd/secret"
)

// TestRewrapSecrets rotates the master key: with the new key primary and
// the old one still known, the stored secret is re-sealed under the new
// key, the connector keeps working, and the old key is no longer in use.
func TestRewrapSecrets(t *testing.T) {
	v := newTestManager(t)
	v.connect(t) // sealed under the test keyring's key (bytes 0..31)
	oldKey := make([]byte, 32)
	for i := range oldKey {
		oldKey[i] = byte(i)
	}
	newKey := bytes.Repeat([]byte{0x42}, 32)
	kr, err := secret.NewKeyring(secret.KeyID(newKey), newKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Add(secret.KeyID(oldKey), oldKey); err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Config{Store: v.db, Sealer: kr, Now: v.clk.Now,
		NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
			return graph.New(gc, graph.WithNow(v.clk.Now))
		}})
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	rep, err := m.RewrapSecrets(v.admin, func(what string) { done = append(done, what) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rewrapped != 1 || len(done) != 1 || len(rep.KeyIDsInUse) != 1 || rep.KeyIDsInUse[0] != secret.KeyID(newKey) {
		t.Fatalf("report %+v, progress %v", rep, done)
	}
	// A second pass changes nothing.
	if rep, err := m.RewrapSecrets(v.admin, nil); err != nil || rep.Rewrapped != 0 || rep.Unchanged != 1 {
		t.Fatalf("second pass %+v, %v", rep, err)
	}
	// The old key can now be retired: a keyring without it still works.
	only, _ := secret.NewKeyring(secret.KeyID(newKey), newKey)
	m2, _ := manager.New(manager.Config{Store: v.db, Sealer: only, Now: v.clk.Now,
		NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
			return graph.New(gc, graph.WithNow(v.clk.Now))
		}})
	rc, err := m2.TestConnection(v.admin, passkeyd.TestOptions{})
	if err != nil || stepsByName(rc)["token"].Status != passkeyd.StepOK {
		t.Fatalf("after retiring the old key: %+v, %v", rc, err)
	}
	// The old manager (old key only) can no longer unseal it.
	if rc, _ := v.m.TestConnection(v.admin, passkeyd.TestOptions{}); stepsByName(rc)["token"].Status == passkeyd.StepOK {
		t.Fatal("the old key still opens the rewrapped secret")
	}
}

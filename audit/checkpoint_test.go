package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

var cpNow = time.Date(2025, 11, 26, 8, 30, 0, 987654321, time.UTC)

// testKey is fixed, so failures reproduce.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func checkpointAt(t *testing.T, evs []passkeyd.AuditEvent, seq int64, key ed25519.PrivateKey) audit.Checkpoint {
	t.Helper()
	cp, err := audit.NewCheckpoint(evs[seq-1], key, cpNow)
	if err != nil {
		t.Fatalf("NewCheckpoint(%d): %v", seq, err)
	}
	return cp
}

// reseal recomputes every hash from record from on, as an attacker with
// write access to the database would after changing a record.
func reseal(t *testing.T, evs []passkeyd.AuditEvent, from int) {
	t.Helper()
	for i := from - 1; i < len(evs); i++ {
		prev := ""
		if i > 0 {
			prev = evs[i-1].Hash
		}
		if err := audit.Seal(prev, &evs[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func verifyCP(t *testing.T, evs []passkeyd.AuditEvent, cps []audit.Checkpoint, pub ed25519.PublicKey) *passkeyd.AuditReport {
	t.Helper()
	rep, err := audit.VerifyWithCheckpoints(context.Background(), pages(evs), cps, pub)
	if err != nil {
		t.Fatalf("VerifyWithCheckpoints: %v", err)
	}
	return rep
}

func TestCheckpointSignedEncoding(t *testing.T) {
	key := testKey(1)
	cp := checkpointAt(t, chain(t, 1), 1, key)
	if cp.Time != cpNow.Truncate(time.Microsecond) || cp.KeyID != audit.CheckpointKeyID(key.Public().(ed25519.PublicKey)) || len(cp.KeyID) != 16 {
		t.Errorf("checkpoint %+v: want time to the microsecond and a 16-hex key id", cp)
	}
	if err := audit.VerifyCheckpoint(cp, key.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("VerifyCheckpoint: %v", err)
	}
	// The signature covers each field.
	edits := map[string]func(cp *audit.Checkpoint){
		"seq":   func(cp *audit.Checkpoint) { cp.Seq++ },
		"hash":  func(cp *audit.Checkpoint) { cp.Hash = strings.Repeat("0", 64) },
		"time":  func(cp *audit.Checkpoint) { cp.Time = cp.Time.Add(time.Microsecond) },
		"key":   func(cp *audit.Checkpoint) { cp.KeyID = "0000000000000000" },
		"sig":   func(cp *audit.Checkpoint) { cp.Signature = append([]byte{cp.Signature[0] ^ 1}, cp.Signature[1:]...) },
		"empty": func(cp *audit.Checkpoint) { cp.Signature = nil },
	}
	for name, edit := range edits {
		c := cp
		edit(&c)
		if err := audit.VerifyCheckpoint(c, key.Public().(ed25519.PublicKey)); err == nil {
			t.Errorf("%s changed: checkpoint still verifies", name)
		}
	}
	if _, err := audit.NewCheckpoint(passkeyd.AuditEvent{}, key, cpNow); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Errorf("NewCheckpoint of no record = %v, want EInvalid", err)
	}
}

func TestVerifyWithCheckpoints(t *testing.T) {
	key := testKey(1)
	pub := key.Public().(ed25519.PublicKey)
	orig := chain(t, 10)
	cps := []audit.Checkpoint{checkpointAt(t, orig, 4, key), checkpointAt(t, orig, 8, key)}

	t.Run("intact", func(t *testing.T) {
		rep := verifyCP(t, orig, cps, pub)
		if !rep.OK || rep.Events != 10 || rep.LastHash != orig[9].Hash {
			t.Errorf("report %+v, want OK with 10 events", rep)
		}
	})

	t.Run("rewritten with recomputed hashes", func(t *testing.T) {
		evs := append([]passkeyd.AuditEvent(nil), orig...)
		evs[5].Actor = "token:innocent" // record 6
		reseal(t, evs, 6)
		if rep := verify(t, pages(evs)); !rep.OK {
			t.Fatalf("plain Verify of the rewritten chain: %+v, want OK (that is the attack)", rep)
		}
		rep := verifyCP(t, evs, cps, pub)
		if rep.OK || rep.FirstBadSeq != 5 || rep.Events != 4 || rep.LastHash != orig[3].Hash ||
			!strings.HasPrefix(rep.Problem, audit.ProblemCheckpointMismatch+": checkpoint 2 ") ||
			!strings.Contains(rep.Problem, "from seq 5 to 8") {
			t.Errorf("report %+v, want mismatch of checkpoint 2 locating the rewrite in 5..8", rep)
		}
	})

	t.Run("rewritten at a checkpoint", func(t *testing.T) {
		evs := append([]passkeyd.AuditEvent(nil), orig...)
		evs[3].Reason = "edited" // record 4, checkpointed
		reseal(t, evs, 4)
		rep := verifyCP(t, evs, cps, pub)
		if rep.OK || rep.FirstBadSeq != 1 || !strings.Contains(rep.Problem, "checkpoint 1 ") {
			t.Errorf("report %+v, want mismatch of checkpoint 1 from seq 1", rep)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		rep := verifyCP(t, orig[:6], cps, pub)
		if rep.OK || rep.FirstBadSeq != 7 || rep.Events != 6 ||
			!strings.HasPrefix(rep.Problem, audit.ProblemTruncated+": checkpoint 2 ") {
			t.Errorf("report %+v, want truncation after seq 6 named by checkpoint 2", rep)
		}
		if plain := verify(t, pages(orig[:6])); !plain.OK {
			t.Errorf("plain Verify of the truncated chain: %+v, want OK", plain)
		}
	})

	t.Run("truncated and regrown", func(t *testing.T) {
		// Cut to 5 records, then append five new ones: seq 8 exists again,
		// with another hash.
		evs := append([]passkeyd.AuditEvent(nil), orig[:5]...)
		for i := 5; i < 10; i++ {
			ev := orig[i]
			ev.Action = "user.created"
			evs = append(evs, ev)
		}
		reseal(t, evs, 6)
		rep := verifyCP(t, evs, cps, pub)
		if rep.OK || !strings.HasPrefix(rep.Problem, audit.ProblemCheckpointMismatch) {
			t.Errorf("report %+v, want a checkpoint mismatch", rep)
		}
	})

	t.Run("chain break is reported as by Verify", func(t *testing.T) {
		evs := append([]passkeyd.AuditEvent(nil), orig...)
		evs[6].Actor = "token:x" // record 7, hash not recomputed
		rep := verifyCP(t, evs, cps, pub)
		if rep.OK || rep.FirstBadSeq != 7 || !strings.HasPrefix(rep.Problem, audit.ProblemHashMismatch) {
			t.Errorf("report %+v, want hash mismatch at 7", rep)
		}
	})

	t.Run("bad signature", func(t *testing.T) {
		bad := append([]audit.Checkpoint(nil), cps...)
		bad[1].Seq = 9 // moved without re-signing
		rep := verifyCP(t, orig, bad, pub)
		if rep.OK || !strings.HasPrefix(rep.Problem, audit.ProblemCheckpointSignature+": checkpoint 2 (seq 9)") {
			t.Errorf("report %+v, want bad checkpoint 2", rep)
		}
	})

	t.Run("other key", func(t *testing.T) {
		rep := verifyCP(t, orig, cps, testKey(2).Public().(ed25519.PublicKey))
		if rep.OK || !strings.HasPrefix(rep.Problem, audit.ProblemCheckpointSignature+": checkpoint 1 ") {
			t.Errorf("report %+v, want bad checkpoint 1", rep)
		}
	})

	t.Run("no checkpoints", func(t *testing.T) {
		_, err := audit.VerifyWithCheckpoints(context.Background(), pages(orig), nil, pub)
		if passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
			t.Errorf("error %v, want EInvalid", err)
		}
	})
}

func TestNextCheckpoint(t *testing.T) {
	key := testKey(1)
	ctx := context.Background()
	evs := chain(t, 12)

	first, rep, err := audit.NextCheckpoint(ctx, pages(evs[:10]), nil, key, cpNow)
	if err != nil || !rep.OK || first == nil || first.Seq != 10 || first.Hash != evs[9].Hash {
		t.Fatalf("first NextCheckpoint = %+v, %+v, %v; want seq 10", first, rep, err)
	}
	if cp, rep, err := audit.NextCheckpoint(ctx, pages(evs[:10]), first, key, cpNow); err != nil || !rep.OK || cp != nil {
		t.Errorf("nothing new: %+v, %+v, %v; want no checkpoint", cp, rep, err)
	}
	second, rep, err := audit.NextCheckpoint(ctx, pages(evs), first, key, cpNow)
	if err != nil || !rep.OK || rep.Events != 2 || second == nil || second.Seq != 12 {
		t.Errorf("second NextCheckpoint = %+v, %+v, %v; want seq 12 after 2 events", second, rep, err)
	}

	rewritten := append([]passkeyd.AuditEvent(nil), evs...)
	rewritten[2].Actor = "token:other"
	reseal(t, rewritten, 3)
	cases := []struct {
		name    string
		evs     []passkeyd.AuditEvent
		problem string
	}{
		{"rewritten", rewritten, audit.ProblemCheckpointMismatch},
		{"truncated", evs[:9], audit.ProblemTruncated},
	}
	for _, tc := range cases {
		cp, rep, err := audit.NextCheckpoint(ctx, pages(tc.evs), first, key, cpNow)
		if err != nil || cp != nil || rep.OK || !strings.HasPrefix(rep.Problem, tc.problem) {
			t.Errorf("%s: %+v, %+v, %v; want no checkpoint and %q", tc.name, cp, rep, err, tc.problem)
		}
	}
}

func TestCheckpointFile(t *testing.T) {
	key := testKey(1)
	evs := chain(t, 3)
	path := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	want := []audit.Checkpoint{checkpointAt(t, evs, 1, key), checkpointAt(t, evs, 3, key)}
	for _, cp := range want {
		if err := audit.WriteCheckpoint(path, cp); err != nil {
			t.Fatalf("WriteCheckpoint: %v", err)
		}
	}
	got, err := audit.ReadCheckpoints(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadCheckpoints = %+v, %v; want %+v", got, err, want)
	}
	if rep := verifyCP(t, evs, got, key.Public().(ed25519.PublicKey)); !rep.OK {
		t.Errorf("read checkpoints do not verify: %+v", rep)
	}

	// A crash mid-write leaves a torn line: reading skips it, and the next
	// write cuts it off.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":4,"ha`)
	f.Close()
	if got, err := audit.ReadCheckpoints(path); err != nil || len(got) != 2 {
		t.Errorf("with a torn line: %d checkpoints, %v; want 2", len(got), err)
	}
	if err := audit.WriteCheckpoint(path, want[1]); err != nil {
		t.Fatal(err)
	}
	if got, err := audit.ReadCheckpoints(path); err != nil || len(got) != 3 {
		t.Errorf("after the torn line: %d checkpoints, %v; want 3", len(got), err)
	}
}

func TestReadCheckpointsRejects(t *testing.T) {
	cases := []struct {
		name, content string
		code          passkeyd.ErrorCode
	}{
		{"junk line", "{\"seq\":1}\nnot json\n", passkeyd.EInvalid},
		{"unknown field", "{\"seq\":1,\"extra\":true}\n", passkeyd.EInvalid},
		{"two objects", "{\"seq\":1} {\"seq\":2}\n", passkeyd.EInvalid},
		{"long line", strings.Repeat(" ", 5000) + "\n", passkeyd.ETooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := audit.ReadCheckpoints(path)
			if code := passkeyd.ErrorCodeOf(err); code != tc.code {
				t.Errorf("ReadCheckpoints error = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestCheckpointKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.key")
	key, err := audit.LoadOrCreateCheckpointKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", info, err)
	}
	again, err := audit.LoadOrCreateCheckpointKey(path)
	if err != nil || !key.Equal(again) {
		t.Fatalf("load: %v; same key %v", err, key.Equal(again))
	}
	pemPub, err := audit.MarshalCheckpointPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	pemPriv, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"public": pemPub, "private": pemPriv} {
		pub, err := audit.ParseCheckpointPublicKey(data)
		if err != nil || !pub.Equal(key.Public()) {
			t.Errorf("ParseCheckpointPublicKey(%s) = %v; same key %v", name, err, pub.Equal(key.Public()))
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LoadOrCreateCheckpointKey(path); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Errorf("world-readable key: %v, want EInvalid", err)
	}
	junk := filepath.Join(dir, "junk.key")
	os.WriteFile(junk, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	_, err = audit.LoadOrCreateCheckpointKey(junk)
	if passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("junk key: %v, want EInvalid without the content", err)
	}
}

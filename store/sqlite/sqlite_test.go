package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/sqlite"
	"github.com/passkeyd/passkeyd/store/storetest"
)

func open(t *testing.T, path string, opts sqlite.Options) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, enq passkeyd.JobEnqueuer) passkeyd.Store {
		return open(t, filepath.Join(t.TempDir(), "passkeyd.db"), sqlite.Options{Enqueue: enq})
	})
}

package manager

import (
	"context"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

// AuditEvents lists audit events.
func (m *Manager) AuditEvents(ctx context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
	return m.store.AuditEvents(ctx, f)
}

// VerifyAudit walks the whole hash chain and names the first bad record.
func (m *Manager) VerifyAudit(ctx context.Context) (*passkeyd.AuditReport, error) {
	return audit.Verify(ctx, func(ctx context.Context, afterSeq int64, limit int) ([]passkeyd.AuditEvent, error) {
		return m.store.AuditEvents(ctx, passkeyd.AuditFilter{AfterSeq: afterSeq, Limit: limit})
	})
}

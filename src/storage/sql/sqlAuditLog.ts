import type { AuditEvent, AuditLog } from "../auditLog.js";
import type { Database } from "./database.js";

export function sqlAuditLog(db: Database): AuditLog {
  return {
    async record(event: AuditEvent) {
      await db("audit_events").insert({
        request_id: event.requestId ?? null,
        principal_kind: event.principal.kind,
        principal_subject: event.principal.subject ?? null,
        action: event.action,
        subject: event.subject ?? null,
        outcome: event.outcome,
        details: JSON.stringify(event.details ?? {}),
      });
    },
  };
}

import { z } from 'zod';

/** The audit log as the API shows it (DESIGN.md §7). */
export const AuditEntry = z.object({
  seq: z.number().int(),
  ts: z.number().int(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  payload: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditVerification = z.union([
  z.object({ ok: z.literal(true), entries: z.number().int(), head: z.string() }),
  // firstBad null: no entry is at fault, the log's guards are (its triggers, its recorded head).
  z.object({ ok: z.literal(false), entries: z.number().int(), firstBad: z.number().int().nullable(), reason: z.string() }),
]);
export type AuditVerification = z.infer<typeof AuditVerification>;

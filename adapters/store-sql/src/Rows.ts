/**
 * Conversion between table rows and JobRecords. Drivers differ (PostgreSQL returns BIGINT as a string, SQLite as a
 * number), so every numeric column goes through Number() here and nowhere else.
 */
import type { JobId, JobStatus } from "@scriptorium/api"
import { type JobEvent, type JobEventType, JobLifecycle, type JobRecord } from "@scriptorium/core"

/** A row as a driver returns it. */
export type Row = Readonly<Record<string, unknown>>

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const stringOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

/** A jobs-table row as a record. */
export const decodeRecord = (row: Row): JobRecord => ({
  job_id: String(row.job_id) as JobId,
  status: String(row.status) as JobStatus,
  filename: String(row.filename),
  total_pages: Number(row.total_pages),
  processed_pages: Number(row.processed_pages),
  created_at: Number(row.created_at),
  updated_at: Number(row.updated_at),
  completed_at: numberOrNull(row.completed_at),
  error_message: stringOrNull(row.error_message),
  attempts: Number(row.attempts),
  max_attempts: Number(row.max_attempts),
  priority: Number(row.priority),
  idempotency_key: stringOrNull(row.idempotency_key),
  fingerprint: stringOrNull(row.fingerprint),
  options: typeof row.options === "string" ? JSON.parse(row.options) : (row.options as JobRecord["options"]) ?? {},
  run_at: Number(row.run_at),
  lease_token: stringOrNull(row.lease_token),
  lease_worker: stringOrNull(row.lease_worker),
  lease_expires_at: numberOrNull(row.lease_expires_at),
  version: Number(row.version)
})

/** A record as column values (options serialised). */
export const encodeRecord = (r: JobRecord): Record<string, string | number | null> => ({
  ...r,
  options: JSON.stringify(r.options)
})

/** An events-table row as a JobEvent. */
export const decodeEvent = (row: Row): JobEvent => ({
  seq: Number(row.seq),
  type: String(row.type) as JobEventType,
  job: JobLifecycle.toJob(decodeRecord(JSON.parse(String(row.job)) as Row))
})

/**
 * @scriptorium/store-sql: the JobStore and the WebhookStore written once over @effect/sql, and the table definitions,
 * shared by the SQLite and PostgreSQL adapters.
 */
export * as SqlJobStore from "./SqlJobStore.js"
export * as SqlWebhookStore from "./SqlWebhookStore.js"
export type { EventRow } from "./SqlJobStore.js"
export type { Row } from "./Rows.js"
export * from "./Schema.js"

/** @scriptorium/store-pg: the JobStore on PostgreSQL, for several workers and machines sharing one queue. */
export * as PgJobStore from "./PgJobStore.js"

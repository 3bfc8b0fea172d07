/** @scriptorium/store-sqlite: the JobStore on SQLite, the embedded default. */
export * as SqliteJobStore from "./SqliteJobStore.js"

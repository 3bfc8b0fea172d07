export * from "./TestPostgres.js"

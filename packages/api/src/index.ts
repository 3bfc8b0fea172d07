/**
 * @scriptorium/api: the contract shared by the server, the workers and the clients. It depends on effect and
 * @effect/platform only, so a client installs without the engine.
 */
export * from "./Errors.js"
export * from "./Job.js"
export * from "./SeedApi.js"
export * from "./Live.js"
export * from "./V1Api.js"

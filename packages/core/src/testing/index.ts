/**
 * @scriptorium/core/testing: the conformance suites every adapter runs against its real backend, the scenario
 * handler the test servers run, and the helpers they share. Imports vitest: use it from tests only.
 */
export * from "./BlobStoreConformance.js"
export * from "./JobStoreConformance.js"
export * from "./ScenarioHandler.js"
export * from "./StoreHarness.js"
export * from "./WorkerConformance.js"
export * from "./WebhookStoreConformance.js"

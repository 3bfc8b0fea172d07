/**
 * @scriptorium/transport-http: the HTTP API (seed 001's routes, the /v1 jobs API, Server-Sent Events) on the
 * Scriptorium facade, with bearer authentication, the OpenAPI document (`/openapi.json`) and its docs page (`/docs`);
 * served as a layer or mounted as a Node handler.
 */
export * as BearerAuth from "./BearerAuth.js"
export * as HttpTransport from "./HttpTransport.js"
export type { HttpTransportConfig, NodeHandler } from "./HttpTransport.js"
export * as SeedHandlers from "./SeedHandlers.js"
export * as V1Handlers from "./V1Handlers.js"
export * as EventsHandlers from "./EventsHandlers.js"

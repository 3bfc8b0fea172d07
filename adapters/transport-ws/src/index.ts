/**
 * @scriptorium/transport-ws: live job status over WebSocket, attachable to any Node http.Server (`WsTransport`), and
 * the one-call mount of the whole API, HTTP and WebSocket, under a path prefix (`Mount`).
 */
export * as Mount from "./Mount.js"
export type { Mounted, MountConfig, NodeMount } from "./Mount.js"
export * as WsTransport from "./WsTransport.js"
export type { WsTransportConfig } from "./WsTransport.js"

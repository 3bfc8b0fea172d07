/**
 * @scriptorium/client: a typed client for a Scriptorium server (seed 001's routes and /v1), generated from the
 * contract's HttpApi definition, with waiting (exponential backoff, progress, timeout) and watching (WebSocket, with
 * polling as the fallback). `createClient` for Promises, `ScriptoriumClient` for Effect.
 */
export * from "./Client.js"
export * from "./ClientErrors.js"
export * as ScriptoriumClient from "./ScriptoriumClient.js"
export type {
  ClientOptions,
  GetOptions,
  ListQuery,
  SubmitInput,
  SubmitOptions,
  WaitOptions,
  WatchOptions
} from "./ScriptoriumClient.js"

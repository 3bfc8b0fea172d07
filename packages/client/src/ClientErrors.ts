/**
 * The failures the client itself can meet, beside the contract's errors (which it hands back as the api's own
 * classes): the server could not be reached, or it answered something this client cannot use. With these two, every
 * failure of a client call is a typed error with a sentence that says what to do, never a raw decoding error.
 */
import { Schema } from "effect"

/** The server answered, but not with something the contract describes (another service, another version, a proxy). */
export class ClientError extends Schema.TaggedError<ClientError>()("ClientError", {
  /** The HTTP status of the answer; null when there was no usable answer (a malformed WebSocket message...). */
  status: Schema.NullOr(Schema.Number),
  /** The `error` tag of the answer's JSON body, when it had one (e.g. `RouteNotFound`). */
  error: Schema.NullOr(Schema.String),
  /** What was wrong with the answer. */
  reason: Schema.String
}) {
  override get message() {
    return `The server's answer could not be used (${this.reason}); check that the base URL points at a Scriptorium ` +
      `server whose version matches this client's.`
  }
}

/** No answer came: the connection was refused, reset or could not be made. */
export class ServerUnreachable extends Schema.TaggedError<ServerUnreachable>()("ServerUnreachable", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `The Scriptorium server at ${this.url} could not be reached (${this.reason}); check the URL and that the ` +
      `server is running.`
  }
}

/** The failures of every client call that are not the contract's own errors. */
export type ClientFailure = ClientError | ServerUnreachable

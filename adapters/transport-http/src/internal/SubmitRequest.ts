/**
 * Reads the body of `POST /v1/jobs` into one submission, whichever of its three forms it came in: multipart form data
 * (`file`, with `webhook_url` and `priority` fields), JSON with the file inline (`content_base64`), or JSON naming a
 * `file_url` that is fetched here (FileUrl). The body is read once, from the request stream, up to a bound, so the
 * upload limit holds for every form. Every value that cannot be used is refused with `InvalidParameter` naming it.
 */
import {
  EmptyFile,
  FileTooLarge,
  type FileUrlFetchFailed,
  type FileUrlNotAllowed,
  InvalidParameter,
  type JobOptions,
  MissingFile,
  SubmitJson
} from "@scriptorium/api"
import { Webhooks } from "@scriptorium/core"
import { Effect, Either, ParseResult, Schema, type Stream } from "effect"
import { type FileUrlConfig, fetchFileUrl } from "./FileUrl.js"
import { fileField, readBody, readUpload } from "./Upload.js"

/** What the caller asked to process, and how. */
export interface Submission {
  readonly filename: string
  readonly content: Uint8Array
  /** The job's options, with `webhook_url` among them when one was given. */
  readonly options: JobOptions | undefined
  readonly priority: number | undefined
}

/** The request, as far as reading its body needs it. */
export interface SubmitRequestInput<E> {
  readonly contentType: string | undefined
  readonly contentLength: string | undefined
  readonly body: Stream.Stream<Uint8Array, E>
}

/** The errors of reading a submission. */
export type SubmitRequestError =
  | MissingFile
  | EmptyFile
  | FileTooLarge
  | InvalidParameter
  | FileUrlNotAllowed
  | FileUrlFetchFailed

/** Room for the JSON around the base64 content and the other fields. */
const JSON_FRAMING_BYTES = 64 * 1024

/** How a submission is read. */
export interface SubmitConfig {
  readonly maxUploadBytes: number
  /** The hosts a webhook_url may name; undefined: any. */
  readonly webhookAllowedHosts: ReadonlyArray<string> | undefined
  readonly fileUrl: Omit<FileUrlConfig, "maxBytes">
}

/** The submission in the request: multipart or JSON (the file inline or by URL); any other body has no file in it. */
export const readSubmission = <E>(
  request: SubmitRequestInput<E>,
  config: SubmitConfig
): Effect.Effect<Submission, SubmitRequestError> => {
  const type = request.contentType?.toLowerCase() ?? ""
  if (type.startsWith("multipart/form-data")) return fromMultipart(request, config)
  if (/^application\/([\w.+-]+\+)?json\b/.test(type)) return fromJson(request, config)
  return Effect.fail(new MissingFile({ field: fileField }))
}

const fromMultipart = <E>(request: SubmitRequestInput<E>, config: SubmitConfig) =>
  Effect.gen(function*() {
    const upload = yield* readUpload(request, config.maxUploadBytes)
    const named = upload.fields.get(Webhooks.webhookUrlOption)
    const webhook = named === undefined || named === "" ? undefined : yield* webhookUrl(named, config.webhookAllowedHosts)
    const priority = upload.fields.get("priority")
    return {
      filename: upload.filename,
      content: upload.content,
      options: webhook === undefined ? undefined : { [Webhooks.webhookUrlOption]: webhook },
      priority: priority === undefined || priority === "" ? undefined : yield* priorityOf(priority)
    }
  })

const fromJson = <E>(
  request: SubmitRequestInput<E>,
  config: SubmitConfig
) =>
  Effect.gen(function*() {
    const maxBytes = config.maxUploadBytes
    // base64 takes 4 bytes for every 3
    const bodyLimit = Math.ceil(maxBytes / 3) * 4 + JSON_FRAMING_BYTES
    if (Number(request.contentLength) > bodyLimit) return yield* new FileTooLarge({ limit_bytes: maxBytes })
    const raw = yield* readBody(request.body, bodyLimit, maxBytes).pipe(
      Effect.mapError((e) => e instanceof FileTooLarge ? e : new MissingFile({ field: fileField }))
    )
    const json = yield* decodeJson(new TextDecoder().decode(raw))
    const inline = json.content_base64
    const url = json.file_url
    if ((inline === undefined) === (url === undefined)) {
      return yield* new InvalidParameter({
        name: inline === undefined ? "content_base64" : "file_url",
        value: inline === undefined ? "" : url!,
        expected: "exactly one of content_base64 (the file, base64-encoded) and file_url"
      })
    }
    // a webhook named among the options is checked like the field (the field wins when both are given)
    const named = json.webhook_url ?? json.options?.[Webhooks.webhookUrlOption]
    const webhook = named === undefined ? undefined : yield* webhookUrl(named, config.webhookAllowedHosts)
    const priority = json.priority === undefined ? undefined : yield* priorityOf(json.priority)
    const file = inline !== undefined
      ? { filename: "document.pdf", content: yield* fromBase64(inline, maxBytes) }
      : yield* fetchFileUrl(url!, { ...config.fileUrl, maxBytes })
    const filename = json.filename !== undefined && json.filename !== "" ? json.filename : file.filename
    if (file.content.length === 0) return yield* new EmptyFile({ filename })
    const options = webhook === undefined ? json.options : { ...json.options, [Webhooks.webhookUrlOption]: webhook }
    return { filename, content: file.content, options, priority }
  })

const decodeSubmitJson = Schema.decodeUnknownEither(SubmitJson)

/** The body as `SubmitJson`; InvalidParameter naming the first field that is wrong. */
const decodeJson = (text: string): Effect.Effect<SubmitJson, InvalidParameter> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Effect.fail(new InvalidParameter({ name: "body", value: text, expected: "a JSON object (SubmitJson)" }))
  }
  return Either.match(decodeSubmitJson(value), {
    onRight: Effect.succeed,
    onLeft: (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      const path = issue?.path ?? []
      const at = path.reduce<unknown>((v, key) => (v as Record<PropertyKey, unknown> | undefined)?.[key], value)
      return Effect.fail(
        new InvalidParameter({
          name: path.length === 0 ? "body" : path.join("."),
          value: typeof at === "string" ? at : JSON.stringify(at) ?? "",
          expected: path.length === 0 ? "a JSON object (SubmitJson)" : (issue?.message ?? "another value")
        })
      )
    }
  })
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/** Standard or URL-safe base64, padded or not, whitespace ignored; FileTooLarge past the upload limit. */
const fromBase64 = (text: string, maxBytes: number): Effect.Effect<Uint8Array, InvalidParameter | FileTooLarge> => {
  const compact = text.replace(/\s+/g, "")
  if (!BASE64.test(compact) || compact.replace(/=+$/, "").length % 4 === 1) {
    return Effect.fail(new InvalidParameter({ name: "content_base64", value: text, expected: "base64-encoded bytes" }))
  }
  // the decoded size, known before decoding
  if (Math.floor(compact.replace(/=+$/, "").length * 3 / 4) > maxBytes) {
    return Effect.fail(new FileTooLarge({ limit_bytes: maxBytes }))
  }
  const bytes = Buffer.from(compact, "base64")
  return Effect.succeed(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
}

/** A URL a webhook can be delivered to (core's check: http or https, no credentials), as given. */
const webhookUrl = (
  value: unknown,
  allowedHosts: ReadonlyArray<string> | undefined
): Effect.Effect<string, InvalidParameter> =>
  typeof value === "string"
    ? Webhooks.checkUrl(value, allowedHosts)
    : Effect.fail(
      new InvalidParameter({
        name: Webhooks.webhookUrlOption,
        value: JSON.stringify(value) ?? "",
        expected: "an absolute http or https URL"
      })
    )

/** A whole number, from a form field or JSON. */
const priorityOf = (value: string | number): Effect.Effect<number, InvalidParameter> => {
  const number = typeof value === "number" ? value : /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : Number.NaN
  return Number.isSafeInteger(number)
    ? Effect.succeed(number)
    : Effect.fail(new InvalidParameter({ name: "priority", value: String(value), expected: "a whole number" }))
}

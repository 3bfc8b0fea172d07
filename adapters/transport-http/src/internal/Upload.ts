/**
 * Reads the upload of `POST /process_pdf` and multipart `POST /v1/jobs`: the request body, collected up to a bound,
 * its `file` part found by the multipart boundary (MultipartBody), and its text fields (`webhook_url`, `priority`).
 * The body is held whole because the admission check reads the whole file before a job exists (a PDF's trailer is at
 * its end); the bound keeps that memory to the configured limit. The byte limit, the empty file and the missing field
 * are checked here, each with its own error. `fromBody` (a whole body to an upload) is shared with the upload fast path
 * (UploadFastPath), which collects the body without Effect streams.
 */
import { EmptyFile, FileTooLarge, MissingFile } from "@scriptorium/api"
import { Effect, Either, Stream } from "effect"
import * as MultipartBody from "./MultipartBody.js"

/** The multipart field that carries the PDF (the seed's `-F "file=@document.pdf"`). */
export const fileField = "file"

/** The file of an upload, and the form's text fields beside it. */
export interface Upload {
  readonly filename: string
  readonly content: Uint8Array
  /** Each text field (a part without a file name) by its name; the first one wins when a name repeats. */
  readonly fields: ReadonlyMap<string, string>
}

/** Room for the multipart framing and small fields beside a file of the largest size accepted. */
const FRAMING_BYTES = 64 * 1024

/** The largest body read for an upload of at most `maxBytes`: more is refused as FileTooLarge. */
export const bodyLimit = (maxBytes: number): number => maxBytes + FRAMING_BYTES

/**
 * The first file part named `file` of a multipart request. Fails with MissingFile when the request is not
 * multipart, is cut short, or has no such part; FileTooLarge as soon as the body is larger than the limit allows
 * (by its Content-Length before a byte is read, when it has one); EmptyFile when the file has no bytes.
 */
export const readUpload = <E>(
  request: {
    readonly contentType: string | undefined
    readonly contentLength: string | undefined
    readonly body: Stream.Stream<Uint8Array, E>
  },
  maxBytes: number
): Effect.Effect<Upload, FileTooLarge | EmptyFile | MissingFile> =>
  Effect.gen(function*() {
    const boundary = MultipartBody.boundaryOf(request.contentType)
    if (boundary === undefined) return yield* new MissingFile({ field: fileField })
    const limit = bodyLimit(maxBytes)
    if (Number(request.contentLength) > limit) return yield* new FileTooLarge({ limit_bytes: maxBytes })
    const body = yield* readBody(request.body, limit, maxBytes).pipe(
      // a request that breaks off has no complete file in it
      Effect.mapError((e) => e instanceof FileTooLarge ? e : new MissingFile({ field: fileField }))
    )
    return yield* fromBody(body, boundary, maxBytes)
  })

/** The upload in a whole multipart body, or why there is none: MissingFile, FileTooLarge, EmptyFile. */
export const fromBody = (
  body: Uint8Array,
  boundary: string,
  maxBytes: number
): Either.Either<Upload, FileTooLarge | EmptyFile | MissingFile> => {
  const parts = MultipartBody.parse(body, boundary)
  const file = parts?.find((part) => part.name === fileField && part.filename !== undefined)
  if (file === undefined) return Either.left(new MissingFile({ field: fileField }))
  const filename = file.filename || "document.pdf"
  if (file.content.length > maxBytes) return Either.left(new FileTooLarge({ limit_bytes: maxBytes }))
  if (file.content.length === 0) return Either.left(new EmptyFile({ filename }))
  return Either.right({ filename, content: file.content, fields: textFields(parts!) })
}

const textFields = (parts: ReadonlyArray<MultipartBody.Part>): ReadonlyMap<string, string> => {
  const fields = new Map<string, string>()
  const decoder = new TextDecoder()
  for (const part of parts) {
    if (part.name !== undefined && part.filename === undefined && !fields.has(part.name)) {
      fields.set(part.name, decoder.decode(part.content))
    }
  }
  return fields
}

/**
 * A body in one buffer, read until it ends; FileTooLarge (naming `maxBytes`, the limit a user knows) as soon as more
 * than `limit` bytes arrived, so an oversized body is never held whole; the stream's own error when it breaks off.
 */
export const readBody = <E>(
  body: Stream.Stream<Uint8Array, E>,
  limit: number,
  maxBytes: number
): Effect.Effect<Uint8Array, FileTooLarge | E> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    return body.pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.suspend(() => {
          for (const bytes of chunk) {
            total += bytes.length
            chunks.push(bytes)
          }
          return total > limit ? Effect.fail(new FileTooLarge({ limit_bytes: maxBytes })) : Effect.void
        })
      ),
      Effect.map(() => Buffer.concat(chunks, total))
    )
  })

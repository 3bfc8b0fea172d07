/**
 * Reads the upload of `POST /process_pdf` from the multipart stream and hands the `file` part to `submit` as a
 * stream, so the bytes go to storage (or to the admission check) without a temporary file. The byte limit, the empty
 * file and the missing field are checked here, each with its own error.
 */
import { EmptyFile, FileTooLarge, MissingFile } from "@scriptorium/api"
import { Multipart } from "@effect/platform"
import { Effect, Option, Stream } from "effect"

/** The multipart field that carries the PDF (the seed's `-F "file=@document.pdf"`). */
export const fileField = "file"

/** What `readUpload` hands to its consumer for the `file` part. */
export interface Upload {
  readonly filename: string
  /** The part's bytes; fails with FileTooLarge past the limit, EmptyFile when it ends without a byte. */
  readonly content: Stream.Stream<Uint8Array, FileTooLarge | EmptyFile | Multipart.MultipartError>
}

/** True when the content type is multipart with a boundary, i.e. the body can be read as parts at all. */
export const isMultipart = (contentType: string | undefined): boolean =>
  contentType !== undefined &&
  /^\s*multipart\/form-data\s*;(.*;)?\s*boundary\s*=\s*("[^"]+"|[^\s;]+)/i.test(contentType)

/**
 * Finds the first file part named `file` and runs `use` on it while the request streams in. Other parts are read and
 * dropped (they count toward the limit, so nothing unbounded is buffered). Fails with MissingFile when the request is
 * not multipart or has no such part, and FileTooLarge when its files exceed `maxBytes`.
 */
export const readUpload = <A, E, R>(
  request: {
    readonly contentType: string | undefined
    readonly parts: Stream.Stream<Multipart.Part, Multipart.MultipartError>
  },
  maxBytes: number,
  use: (upload: Upload) => Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  Exclude<E, Multipart.MultipartError> | FileTooLarge | EmptyFile | MissingFile,
  R
> =>
  Effect.suspend(() => {
    let total = 0
    const counted = (content: Stream.Stream<Uint8Array, Multipart.MultipartError>) =>
      Stream.mapEffect(content, (chunk) => {
        total += chunk.length
        return total > maxBytes ? Effect.fail(new FileTooLarge({ limit_bytes: maxBytes })) : Effect.succeed(chunk)
      })
    const nonEmpty = (
      filename: string,
      content: Stream.Stream<Uint8Array, Multipart.MultipartError | FileTooLarge>
    ) => {
      let seen = 0
      return Stream.concat(
        Stream.tap(content, (chunk) => Effect.sync(() => void (seen += chunk.length))),
        Stream.suspend(() => seen === 0 ? Stream.fail(new EmptyFile({ filename })) : Stream.empty)
      )
    }
    const onPart = (
      part: Multipart.Part
    ): Effect.Effect<Option.Option<A>, E | FileTooLarge | Multipart.MultipartError, R> => {
      if (!Multipart.isFile(part)) return Effect.succeedNone
      if (part.key !== fileField) return Effect.as(Stream.runDrain(counted(part.content)), Option.none())
      const filename = part.name || "document.pdf"
      return Effect.map(use({ filename, content: nonEmpty(filename, counted(part.content)) }), Option.some)
    }
    // checked first: the multipart parser reports a missing boundary by throwing, outside the stream's error channel
    if (!isMultipart(request.contentType)) return Effect.fail(new MissingFile({ field: fileField }))
    const found: Effect.Effect<A, E | FileTooLarge | MissingFile | Multipart.MultipartError, R> = request.parts.pipe(
      Stream.mapEffect(onPart),
      Stream.filterMap((result) => result),
      Stream.runHead,
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new MissingFile({ field: fileField })),
        onSome: (value) => Effect.succeed(value)
      }))
    )
    return Effect.catchIf(
      found,
      (e): e is Multipart.MultipartError => e instanceof Multipart.MultipartError,
      (e) => fromMultipartError(e, maxBytes)
    ) as Effect.Effect<A, Exclude<E, Multipart.MultipartError> | FileTooLarge | EmptyFile | MissingFile, R>
  })

/** A parse failure means the request carried no multipart file; a parser limit means it was too large. */
const fromMultipartError = (
  error: Multipart.MultipartError,
  maxBytes: number
): Effect.Effect<never, MissingFile | FileTooLarge> => {
  switch (error.reason) {
    case "Parse":
      return Effect.fail(new MissingFile({ field: fileField }))
    case "FileTooLarge":
    case "FieldTooLarge":
    case "BodyTooLarge":
    case "TooManyParts":
      return Effect.fail(new FileTooLarge({ limit_bytes: maxBytes }))
    case "InternalError":
      return Effect.die(error)
  }
}

import { describe, expect, it } from "vitest"
import * as MultipartBody from "../src/internal/MultipartBody.js"

/** A body as a real client encodes it (undici's FormData, as fetch sends it), with its content type. */
const encode = async (form: FormData) => {
  const response = new Response(form)
  return {
    body: new Uint8Array(await response.arrayBuffer()),
    contentType: response.headers.get("content-type") ?? undefined
  }
}

const parseForm = async (form: FormData) => {
  const { body, contentType } = await encode(form)
  const boundary = MultipartBody.boundaryOf(contentType)
  expect(boundary).toBeDefined()
  return MultipartBody.parse(body, boundary!)
}

describe("MultipartBody", () => {
  it("finds fields and files, in order, with their bytes intact", async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7919) % 256)
    const form = new FormData()
    form.append("note", "hello")
    form.append("file", new Blob([bytes]), "scan 1.pdf")
    form.append("empty", new Blob([]), "nothing.txt")
    const parts = await parseForm(form)
    expect(parts?.map((p) => [p.name, p.filename])).toEqual([
      ["note", undefined],
      ["file", "scan 1.pdf"],
      ["empty", "nothing.txt"]
    ])
    expect(new TextDecoder().decode(parts![0]!.content)).toBe("hello")
    expect(Buffer.from(parts![1]!.content).equals(Buffer.from(bytes))).toBe(true)
    expect(parts![2]!.content.length).toBe(0)
  })

  it("keeps content that looks like a boundary without being one", async () => {
    const { body, contentType } = await encode((() => {
      const f = new FormData()
      f.append("file", new Blob(["a\r\n--not-the-boundary\r\n\r\nb"]), "x.pdf")
      return f
    })())
    const parts = MultipartBody.parse(body, MultipartBody.boundaryOf(contentType)!)
    expect(new TextDecoder().decode(parts![0]!.content)).toBe("a\r\n--not-the-boundary\r\n\r\nb")
  })

  it("reads non-ASCII, quoted and RFC 5987 file names", () => {
    const body = Buffer.from(
      "preamble to ignore\r\n" +
        "--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"na\\\"ïve.pdf\"\r\n\r\nA\r\n" +
        "--b0\r\nContent-Disposition: form-data; name=file; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\nB\r\n" +
        "--b0--\r\n"
    )
    const parts = MultipartBody.parse(body, "b0")
    expect(parts?.map((p) => p.filename)).toEqual(["na\"ïve.pdf", "résumé.pdf"])
    expect(parts?.map((p) => Buffer.from(p.content).toString())).toEqual(["A", "B"])
  })

  it("refuses a body cut short or without delimiters", () => {
    expect(MultipartBody.parse(Buffer.from("just text"), "b0")).toBeUndefined()
    const cut = Buffer.from("--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4 ...")
    expect(MultipartBody.parse(cut, "b0")).toBeUndefined()
    expect(MultipartBody.parse(Buffer.from("--b0\r\nContent-Disposition: form-data"), "b0")).toBeUndefined()
  })

  it("takes the boundary from the content type, quoted or not, and nothing else", () => {
    expect(MultipartBody.boundaryOf("multipart/form-data; boundary=abc")).toBe("abc")
    expect(MultipartBody.boundaryOf("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"")).toBe("a b")
    expect(MultipartBody.boundaryOf("application/json")).toBeUndefined()
    expect(MultipartBody.boundaryOf("multipart/form-data")).toBeUndefined()
    expect(MultipartBody.boundaryOf(undefined)).toBeUndefined()
    expect(MultipartBody.boundaryOf(`multipart/form-data; boundary=${"x".repeat(71)}`)).toBeUndefined()
  })
})

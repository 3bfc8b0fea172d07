/**
 * A PDF file assembled from its objects, for tests that need a file no corpus document is: object `i` (from 0) is
 * numbered `i + 1`, object 1 is the catalog, and the cross-reference table and trailer are written for them.
 */
export const pdfFile = (
  objects: ReadonlyArray<Buffer>,
  options: { readonly version?: string; readonly trailer?: string } = {}
): Uint8Array => {
  const parts: Array<Buffer> = [Buffer.from(`%PDF-${options.version ?? "1.4"}\n`)]
  const offsets: Array<number> = []
  let length = parts[0]!.length
  objects.forEach((body, i) => {
    offsets.push(length)
    const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from("\nendobj\n")])
    parts.push(object)
    length += object.length
  })
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("") +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${options.trailer ?? ""} >>\nstartxref\n${length}\n%%EOF\n`
  return new Uint8Array(Buffer.concat([...parts, Buffer.from(xref)]))
}

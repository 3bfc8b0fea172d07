/**
 * Reading order for detected boxes: boxes are grouped into rows (a box joins a row when its vertical centre lies
 * within the row's band, half the row's median box height either side of the row's centre), rows run top to bottom
 * and boxes in a row left to right. Plain single-column order: columns and layout are LayoutEngine's job.
 */

/** An axis-aligned box `[x1, y1, x2, y2]`. */
export type Box = readonly [number, number, number, number]

/** Groups `boxes` into rows in reading order; returns the indices of `boxes`, row by row. */
export const readingOrder = (boxes: ReadonlyArray<Box>): Array<Array<number>> => {
  const order = boxes.map((_, i) => i).sort((a, b) => centreY(boxes[a]!) - centreY(boxes[b]!))
  const rows: Array<{ members: Array<number>; centre: number; height: number }> = []
  for (const i of order) {
    const box = boxes[i]!
    const cy = centreY(box)
    const h = box[3] - box[1]
    const row = rows.length > 0 ? rows[rows.length - 1]! : undefined
    if (row !== undefined && Math.abs(cy - row.centre) <= Math.min(row.height, h) / 2) {
      row.members.push(i)
      const n = row.members.length
      row.centre = (row.centre * (n - 1) + cy) / n
      row.height = (row.height * (n - 1) + h) / n
    } else rows.push({ members: [i], centre: cy, height: h })
  }
  return rows.map((r) => r.members.sort((a, b) => boxes[a]![0] - boxes[b]![0]))
}

const centreY = (b: Box) => (b[1] + b[3]) / 2

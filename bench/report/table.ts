/** A plain-text table: right-aligned numbers, left-aligned text, a rule under the header. */
export function renderTable(title: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[-+]?[\d.,]+( ?[%x])?$|^-$|^$/.test(row[column] ?? "")));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ").trimEnd();
  return [`== ${title}`, line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line), ""].join("\n");
}

export function fixed(value: number, digits = 0): string {
  return value.toFixed(digits);
}

export function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

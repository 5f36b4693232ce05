/** Writes the routing section of docs/benchmarks.md (between its markers only) and the chart. */
import { readFile, writeFile } from 'node:fs/promises';

export const START = '<!-- routing:start -->';
export const END = '<!-- routing:end -->';

/** Replaces what lies between the markers; everything else in the file is kept as it is. */
export function replaceSection(document: string, section: string): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`docs/benchmarks.md: expected the markers ${START} … ${END}`);
  return `${document.slice(0, start + START.length)}\n${section.trim()}\n${document.slice(end)}`;
}

export async function writeDocs(root: URL, section: string, svg: string): Promise<void> {
  const file = new URL('docs/benchmarks.md', root);
  await writeFile(file, replaceSection(await readFile(file, 'utf8'), section));
  await writeFile(new URL('docs/routing-chart.svg', root), svg);
}

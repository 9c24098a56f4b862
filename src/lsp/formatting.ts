/**
 * Document formatting through the project's formatter (src/format), loaded on first use: it runs on
 * prettier, which only a development install is sure to have.
 */
export async function formatDocument(text: string, file: string, tabSize: number | undefined): Promise<string> {
  const { format } = await import("../format/index.js");
  return format(text, { filepath: file, ...(tabSize ? { tabWidth: tabSize } : {}) });
}

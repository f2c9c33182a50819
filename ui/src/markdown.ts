// Schema descriptions (gRPC comments, Thrift doc comments) shown in the
// editor's hovers and completions are Markdown. codemirror-json-schema's own
// renderer also sets up shiki, a syntax highlighter, with a grammar and two
// themes, as soon as the editor is imported: 200 KB more to load and a few
// MiB of the web process's memory at idle, to colour code blocks that
// descriptions hardly have. vite.config.ts puts this renderer in its place:
// the same Markdown, code blocks plain.
import MarkdownIt from "markdown-it";

const renderer = new MarkdownIt({ linkify: true, typographer: true });

/** The library's signature: inline Markdown by default. */
export function renderMarkdown(markdown: string, inline = true): string {
  return inline ? renderer.renderInline(markdown) : renderer.render(markdown);
}

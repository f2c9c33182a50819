import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";

describe("schema description Markdown", () => {
  it("renders inline by default, blocks when asked", () => {
    expect(renderMarkdown("the `x` operand, see https://example.com")).toBe(
      'the <code>x</code> operand, see <a href="https://example.com">https://example.com</a>',
    );
    expect(renderMarkdown("# Title\n\n```js\nlet a = 1;\n```", false)).toBe(
      '<h1>Title</h1>\n<pre><code class="language-js">let a = 1;\n</code></pre>\n',
    );
  });

  it("escapes HTML in descriptions", () => {
    expect(renderMarkdown("<script>alert(1)</script>")).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});

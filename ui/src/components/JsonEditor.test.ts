import { describe, expect, it } from "vitest";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { diagnosticCount, forceLinting } from "@codemirror/lint";
import { jsonExtensions } from "./JsonEditor";

/** The editor's diagnostics for `doc`, once linting has run. */
async function diagnostics(doc: string, schema: unknown): Promise<number> {
  const view = new EditorView({ state: EditorState.create({ doc, extensions: await jsonExtensions(schema, false) }) });
  forceLinting(view);
  // The linter's source may be async; let it settle.
  for (let i = 0; i < 20 && diagnosticCount(view.state) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    forceLinting(view);
  }
  const count = diagnosticCount(view.state);
  view.destroy();
  return count;
}

const schema = {
  type: "object",
  properties: { x: { type: "integer" }, y: { type: "integer" } },
  required: ["x"],
  additionalProperties: false,
};

describe("JSON editor validation", () => {
  it("flags a syntax error without a schema", async () => {
    expect(await diagnostics("{ x: 1", null)).toBeGreaterThan(0);
  });

  it("accepts valid JSON without a schema", async () => {
    expect(await diagnostics('{ "x": 1 }', null)).toBe(0);
  });

  it("flags a value of the wrong type against the method's schema", async () => {
    expect(await diagnostics('{ "x": "one" }', schema)).toBeGreaterThan(0);
  });

  it("flags a field the method does not have", async () => {
    expect(await diagnostics('{ "x": 1, "z": 2 }', schema)).toBeGreaterThan(0);
  });

  it("accepts a body that matches the schema", async () => {
    expect(await diagnostics('{ "x": 1, "y": 2 }', schema)).toBe(0);
  });
});

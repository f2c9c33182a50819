// CodeMirror 6 for JSON: syntax errors flagged as you type and, given the
// method's JSON Schema, completion, hover docs and schema errors too.
import { useEffect, useRef } from "react";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { json, jsonParseLinter } from "@codemirror/lang-json";
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  HighlightStyle,
  syntaxHighlighting,
} from "@codemirror/language";
import { lintGutter, linter } from "@codemirror/lint";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { EditorView, highlightActiveLine, keymap, lineNumbers, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { JSONSchema7 } from "json-schema";

const darkHighlight = HighlightStyle.define([
  { tag: tags.propertyName, color: "#93c5fd" },
  { tag: tags.string, color: "#86efac" },
  { tag: tags.number, color: "#fcd34d" },
  { tag: [tags.bool, tags.null], color: "#f9a8d4" },
]);

function highlighting(dark: boolean): Extension {
  return syntaxHighlighting(dark ? darkHighlight : defaultHighlightStyle, { fallback: true });
}

/** The extensions of a JSON editor without a schema: syntax errors only. */
function plainJson(dark: boolean): Extension[] {
  return [json(), linter(jsonParseLinter(), { delay: 250 }), highlighting(dark)];
}

/** The extensions of a JSON editor; with a schema, schema-aware ones too.
 * The schema support (a third of the UI's code, with its Markdown for hover
 * docs) is loaded when a first method with a schema is picked, not at start. */
export async function jsonExtensions(schema: unknown, dark: boolean): Promise<Extension[]> {
  if (!schema || typeof schema !== "object") return plainJson(dark);
  const { jsonSchema } = await import("codemirror-json-schema");
  // The bundle: JSON, syntax and schema linting, completion, hover docs.
  return [...jsonSchema(schema as JSONSchema7), highlighting(dark)];
}

type Props = {
  value: string;
  onChange?: (value: string) => void;
  schema?: unknown;
  readOnly?: boolean;
  dark?: boolean;
  hint?: string;
  testId?: string;
  onSubmit?: () => void;
};

export function JsonEditor({ value, onChange, schema, readOnly, dark = false, hint, testId, onSubmit }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const onChangeRef = useRef(onChange);
  const onSubmitRef = useRef(onSubmit);
  onChangeRef.current = onChange;
  onSubmitRef.current = onSubmit;

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          foldGutter(),
          lintGutter(),
          history(),
          bracketMatching(),
          closeBrackets(),
          autocompletion(),
          highlightActiveLine(),
          EditorView.lineWrapping,
          placeholder(hint ?? ""),
          EditorState.readOnly.of(Boolean(readOnly)),
          keymap.of([
            { key: "Mod-Enter", run: () => (onSubmitRef.current?.(), true) },
            ...closeBracketsKeymap,
            ...defaultKeymap,
            ...historyKeymap,
            ...foldKeymap,
            ...completionKeymap,
          ]),
          language.current.of(plainJson(dark)),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChangeRef.current?.(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is created once; value, schema and theme are pushed below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    // A schema and theme picked after this one win, whichever loads first.
    let current = true;
    jsonExtensions(schema, dark)
      .then((extensions) => {
        if (current) view.current?.dispatch({ effects: language.current.reconfigure(extensions) });
      })
      // Without its schema support the editor still checks JSON syntax.
      .catch((error: unknown) => console.error("the schema editor did not load", error));
    return () => {
      current = false;
    };
  }, [schema, dark]);

  return <div ref={host} data-testid={testId} className="h-full min-h-0 overflow-auto" />;
}

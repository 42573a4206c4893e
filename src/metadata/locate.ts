import { parseTOML } from 'toml-eslint-parser';
import type { Position } from '../core/diagnostics.js';
import type { Anchor, TomlPath } from './toml.js';

// toml-eslint-parser gives a located AST. It is only loaded when a file has a problem
// to report, so a clean `weld check` never pays for a second parse.

interface Loc {
  start: { line: number; column: number };
}
interface Node {
  type: string;
  loc: Loc;
}
interface KeyValueNode extends Node {
  key: { loc: Loc; keys: Array<{ name?: string; value?: string }> };
  value: ValueNode;
}
type ValueNode = Node & { elements?: ValueNode[]; body?: KeyValueNode[] };
interface TableNode extends Node {
  resolvedKey: Array<string | number>;
  body: KeyValueNode[];
}

interface Spot {
  key?: Position;
  value?: Position;
  table?: Position;
}

const pos = (l: Loc): Position => ({ line: l.start.line, col: l.start.column + 1 });
const keyOf = (path: TomlPath): string => JSON.stringify(path);

/** Resolves TOML paths to line:col in one file. Build once per file, query many times. */
export class Locator {
  private readonly spots = new Map<string, Spot>();

  constructor(text: string) {
    let ast;
    try {
      ast = parseTOML(text);
    } catch {
      return; // unparsable text was already reported by parseToml; fall back to 1:1
    }
    for (const top of ast.body) {
      for (const item of top.body as unknown as Array<KeyValueNode | TableNode>) {
        if (item.type === 'TOMLTable') {
          const t = item as TableNode;
          this.spot(t.resolvedKey).table ??= pos(t.loc);
          for (const kv of t.body) this.addKeyValue(t.resolvedKey, kv);
        } else {
          this.addKeyValue([], item as KeyValueNode);
        }
      }
    }
  }

  private spot(path: TomlPath): Spot {
    const k = keyOf(path);
    let s = this.spots.get(k);
    if (!s) this.spots.set(k, (s = {}));
    return s;
  }

  private addKeyValue(base: TomlPath, kv: KeyValueNode): void {
    const names = kv.key.keys.map((k) => k.name ?? k.value ?? '');
    // Dotted keys (`build.env = ...`) implicitly open their parent tables here.
    for (let i = 1; i < names.length; i++) this.spot([...base, ...names.slice(0, i)]).table ??= pos(kv.loc);
    const path = [...base, ...names];
    const s = this.spot(path);
    s.key = pos(kv.key.loc);
    this.addValue(path, kv.value, s);
  }

  private addValue(path: TomlPath, v: ValueNode, s: Spot): void {
    s.value = pos(v.loc);
    if (v.type === 'TOMLInlineTable') {
      s.table = pos(v.loc);
      for (const kv of v.body ?? []) this.addKeyValue(path, kv);
    } else if (v.type === 'TOMLArray') {
      (v.elements ?? []).forEach((el, i) => {
        const child = this.spot([...path, i]);
        child.key = pos(el.loc);
        this.addValue([...path, i], el, child);
      });
    }
  }

  /** The position for `path`, falling back to the nearest enclosing thing that exists, then 1:1. */
  find(path: TomlPath, anchor: Anchor): Position {
    const exact = this.spots.get(keyOf(path));
    const hit = exact?.[anchor] ?? exact?.key ?? exact?.table ?? exact?.value;
    if (hit) return hit;
    for (let n = path.length - 1; n >= 0; n--) {
      const s = this.spots.get(keyOf(path.slice(0, n)));
      const p = s?.table ?? s?.key;
      if (p) return p;
    }
    return { line: 1, col: 1 };
  }
}

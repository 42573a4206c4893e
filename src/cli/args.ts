import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { closest } from '../util/suggest.js';

export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  /** placeholder in help, e.g. <ref> */
  value?: string;
  /** a string option that may be given more than once; its value is then every one, in order */
  multiple?: boolean;
  description: string;
}

export interface PositionalSpec {
  name: string;
  required?: boolean;
  variadic?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** a paragraph shown by `weld <verb> --help` */
  description?: string;
  options: Record<string, OptionSpec>;
  positionals: PositionalSpec[];
  examples?: string[];
}

export interface ParsedArgs {
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Options every verb understands. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** Options of the verbs that read metadata. */
export const METADATA_OPTIONS: Record<string, OptionSpec> = {
  metadata: { type: 'string', value: '<dir>', description: 'the metadata directory (default: ./metadata, searched upwards; or $WELD_METADATA)' },
  ref: { type: 'string', value: '<ref>', description: 'read the metadata at a git branch, tag or commit instead of the work tree' },
};

/**
 * Parses with node's parseArgs, then checks what it let through: unknown options get
 * a "did you mean", missing values and surplus arguments are named.
 */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): Result<ParsedArgs, UsageError> {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(all).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const helpHint = `run 'weld ${spec.name} --help' for its options`;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const o = all[t.name];
    if (!o) {
      const guess = closest(t.name, Object.keys(all));
      return err(new UsageError(`weld ${spec.name}: unknown option ${t.rawName}${guess ? `; did you mean --${guess}?` : ''}`, helpHint));
    }
    if (o.type === 'string' && t.value === undefined) {
      return err(new UsageError(`weld ${spec.name}: ${t.rawName} needs a value: ${t.rawName} ${o.value ?? '<value>'}`, helpHint));
    }
    if (o.type === 'boolean' && t.inlineValue) {
      return err(new UsageError(`weld ${spec.name}: ${t.rawName} is a switch and takes no value`, helpHint));
    }
  }
  if (values['help']) return ok({ options: values as ParsedArgs['options'], positionals });
  const required = spec.positionals.filter((p) => p.required);
  if (positionals.length < required.length) {
    return err(new UsageError(`weld ${spec.name}: missing ${required[positionals.length]!.name}`, `usage: ${usage(spec)}`));
  }
  if (!spec.positionals.some((p) => p.variadic) && positionals.length > spec.positionals.length) {
    return err(new UsageError(`weld ${spec.name}: unexpected argument "${positionals[spec.positionals.length]}"`, `usage: ${usage(spec)}`));
  }
  return ok({ options: values as ParsedArgs['options'], positionals });
}

export function usage(spec: CommandSpec): string {
  const pos = spec.positionals.map((p) => {
    const n = `<${p.name}>${p.variadic ? '…' : ''}`;
    return p.required ? n : `[${n}]`;
  });
  return ['weld', spec.name, '[options]', ...pos].join(' ');
}

export function formatHelp(spec: CommandSpec): string {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`, o.description] as const);
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`Usage: ${usage(spec)}`, '', spec.summary + '.'];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:', ...rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

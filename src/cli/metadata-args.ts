import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { openMetadata } from '../metadata/open.js';
import type { ParsedArgs } from './args.js';
import type { CliIO } from './io.js';

/** Flags → options for the metadata loader; shared by every verb that reads metadata. */
export function openFromArgs(args: ParsedArgs, io: CliIO): Promise<Result<Metadata, WeldError>> {
  const metadata = args.options['metadata'];
  const ref = args.options['ref'];
  return openMetadata({
    cwd: io.cwd,
    env: io.env,
    ...(typeof metadata === 'string' ? { metadata } : {}),
    ...(typeof ref === 'string' ? { ref } : {}),
  });
}

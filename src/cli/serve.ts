import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import type { VerbModule } from './commands.js';

export const spec: VerbModule['spec'] = {
  description:
    'Serves a wheelhouse written by `weld compose wheelhouse` over HTTP, read-only: the simple\n' +
    'index (HTML, or PEP 691 JSON when the client asks for it), the wheels and their PEP 658\n' +
    'metadata, so `pip install --index-url http://127.0.0.1:<port>/simple <project>` works.\n' +
    'Binds loopback unless told otherwise; prints each request on stderr; Ctrl-C stops it.\n' +
    '(`weld server` is different: the build service, which takes jobs over a REST API and serves\n' +
    'the wheelhouses its jobs compose under /wheelhouses/<job>/<compose>/.)',
  options: {
    wheelhouse: { type: 'string', value: '<dir>', description: 'the wheelhouse directory (e.g. out/wheelhouse/default)' },
    port: { type: 'string', value: '<n>', description: 'the TCP port (default 8000; 0 picks a free one)' },
    host: { type: 'string', value: '<addr>', description: 'the address to bind (default 127.0.0.1)' },
  },
  positionals: [],
  examples: ['weld serve --wheelhouse out/wheelhouse/default', 'weld serve --wheelhouse out/wheelhouse/default --port 0'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const dir = args.options['wheelhouse'];
  if (typeof dir !== 'string') return err(new UsageError('weld serve: --wheelhouse <dir> is needed', 'e.g. weld serve --wheelhouse out/wheelhouse/default (written by `weld compose wheelhouse`)'));
  const portArg = args.options['port'];
  const port = portArg === undefined ? 8000 : Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return err(new UsageError(`weld serve: --port ${String(portArg)} is not a port number (0–65535)`));
  const host = typeof args.options['host'] === 'string' ? args.options['host'] : '127.0.0.1';
  const { serveWheelhouse } = await import('../compose/wheelhouse/serve.js');
  const served = await serveWheelhouse({
    dir: path.resolve(io.cwd, dir),
    host,
    port,
    onEvent: (e) => io.stderr.write(`${e.method} ${e.path} ${e.status}\n`),
  });
  if (!served.ok) return served;
  const { url } = served.value;
  io.stdout.write(`serving ${dir} at ${url}\n  pip install --index-url ${url}simple <project>\nCtrl-C stops.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await served.value.close();
  return ok(undefined);
};

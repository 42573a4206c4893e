// Which runtime env a wheel's [test] runs in when it names none. The choice is the
// metadata's, made once here, so `weld check`, builds and status agree on it.

interface EnvView {
  name: string;
  kind?: string;
  arch?: string;
  suite?: string;
}

/** A wheel has a test when [test] gives it something to run. */
export function hasTest(test: { imports: readonly string[]; commands: readonly string[] }): boolean {
  return test.imports.length > 0 || test.commands.length > 0;
}

/**
 * `[distro] runtime_env`; else the one runtime env on the builder env's suite and arch
 * (the Python the wheel was built against); else the distro's only runtime env.
 * Undefined when none of these picks exactly one.
 */
export function testEnvFor(o: { distro: { runtimeEnv?: string }; envs: readonly EnvView[]; builder: string }): string | undefined {
  if (o.distro.runtimeEnv) return o.distro.runtimeEnv;
  const runtimes = o.envs.filter((e) => e.kind === 'runtime');
  const b = o.envs.find((e) => e.name === o.builder);
  const matching = b ? runtimes.filter((e) => e.suite === b.suite && e.arch === b.arch) : [];
  if (matching.length === 1) return matching[0]!.name;
  return runtimes.length === 1 ? runtimes[0]!.name : undefined;
}

/**
 * The runtime env a target's wheels are tested in when [test] names none: the target's
 * runtime_env when written; else the one runtime env on the builder env's suite and
 * arch; else the one runtime env of the target's arch. The implicit target of a
 * single-arch distro gets exactly `testEnvFor`'s answer, since all its envs share the arch.
 */
export function testEnvIn(o: { target: { arch?: string; runtimeEnv?: string; runtimeEnvSet?: boolean }; envs: readonly EnvView[]; builder: string }): string | undefined {
  if (o.target.runtimeEnvSet && o.target.runtimeEnv) return o.target.runtimeEnv;
  const runtimes = o.envs.filter((e) => e.kind === 'runtime' && (o.target.arch === undefined || e.arch === o.target.arch));
  const b = o.envs.find((e) => e.name === o.builder);
  const matching = b ? runtimes.filter((e) => e.suite === b.suite && e.arch === b.arch) : [];
  if (matching.length === 1) return matching[0]!.name;
  return runtimes.length === 1 ? runtimes[0]!.name : undefined;
}

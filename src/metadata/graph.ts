// The build-time package graph: an edge a → b means "a requires b to build".

export class PackageGraph {
  private readonly deps: Map<string, readonly string[]>;
  private readonly rdeps = new Map<string, string[]>();
  /** steps(), computed once: the graph never changes, and a no-op build asks for them several times */
  private stepsMemo: string[][] | undefined;

  constructor(edges: Map<string, readonly string[]>) {
    this.deps = edges;
    for (const n of edges.keys()) this.rdeps.set(n, []);
    for (const [n, ds] of edges) for (const d of ds) this.rdeps.get(d)?.push(n);
    for (const list of this.rdeps.values()) list.sort();
  }

  get nodes(): string[] {
    return [...this.deps.keys()].sort();
  }

  has(name: string): boolean {
    return this.deps.has(name);
  }

  /** Direct build requirements. */
  requires(name: string): readonly string[] {
    return this.deps.get(name) ?? [];
  }

  /**
   * Build steps: step k holds the packages whose longest chain of requirements has
   * length k, so everything in one step can build in parallel. Names sorted in a step.
   * Packages on a cycle are left out (call `cycles()` first).
   */
  steps(): string[][] {
    this.stepsMemo ??= this.computeSteps();
    return this.stepsMemo.map((s) => [...s]);
  }

  private computeSteps(): string[][] {
    const depth = new Map<string, number>();
    const pending = new Map<string, number>();
    const ready: string[] = [];
    for (const [n, ds] of this.deps) {
      pending.set(n, ds.length);
      if (ds.length === 0) ready.push(n);
    }
    for (let i = 0; i < ready.length; i++) {
      const n = ready[i]!;
      const dn = Math.max(0, ...this.requires(n).map((d) => depth.get(d)! + 1));
      depth.set(n, dn);
      for (const r of this.rdeps.get(n) ?? []) {
        const left = pending.get(r)! - 1;
        pending.set(r, left);
        if (left === 0) ready.push(r);
      }
    }
    const steps: string[][] = [];
    for (const [n, d] of depth) (steps[d] ??= []).push(n);
    return steps.map((s) => s.sort());
  }

  /** Topological order: every package after everything it requires; deterministic. */
  order(): string[] {
    return this.steps().flat();
  }

  /** Packages that require `name`, directly or (with `transitive`) through others; sorted. */
  dependents(name: string, opts: { transitive?: boolean } = {}): string[] {
    if (!opts.transitive) return [...(this.rdeps.get(name) ?? [])];
    const seen = new Set<string>();
    const stack = [...(this.rdeps.get(name) ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(this.rdeps.get(n) ?? []));
    }
    return [...seen].sort();
  }

  /** Whether `from` build-requires `what`, directly or through others (a walk of `from`'s requirements only). */
  buildsOn(from: string, what: string): boolean {
    const seen = new Set<string>();
    const stack = [...this.requires(from)];
    while (stack.length) {
      const n = stack.pop()!;
      if (n === what) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...this.requires(n));
    }
    return false;
  }

  /** The targets and everything they need to build, as a graph of its own. */
  subgraph(targets: Iterable<string>): PackageGraph {
    const keep = new Set<string>();
    const stack = [...targets];
    while (stack.length) {
      const n = stack.pop()!;
      if (keep.has(n) || !this.deps.has(n)) continue;
      keep.add(n);
      stack.push(...this.requires(n));
    }
    // The whole graph (`--all`, `weld status`): itself, with the steps it already knows.
    if (keep.size === this.deps.size) return this;
    return new PackageGraph(new Map([...keep].sort().map((n) => [n, this.requires(n)])));
  }

  /**
   * One elementary cycle per strongly connected component that has one, each as the
   * list of its packages in edge order, starting at its smallest name (so each cycle
   * is reported once, the same way every run). Tarjan's algorithm, iterative.
   */
  cycles(): string[][] {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const sccs: string[][] = [];
    let counter = 0;
    for (const root of this.nodes) {
      if (index.has(root)) continue;
      const work: Array<{ n: string; i: number }> = [{ n: root, i: 0 }];
      index.set(root, counter);
      low.set(root, counter++);
      stack.push(root);
      onStack.add(root);
      while (work.length) {
        const top = work[work.length - 1]!;
        const ds = this.requires(top.n);
        if (top.i < ds.length) {
          const d = ds[top.i++]!;
          if (!this.deps.has(d)) continue;
          if (!index.has(d)) {
            index.set(d, counter);
            low.set(d, counter++);
            stack.push(d);
            onStack.add(d);
            work.push({ n: d, i: 0 });
          } else if (onStack.has(d)) {
            low.set(top.n, Math.min(low.get(top.n)!, index.get(d)!));
          }
          continue;
        }
        work.pop();
        const parent = work[work.length - 1];
        if (parent) low.set(parent.n, Math.min(low.get(parent.n)!, low.get(top.n)!));
        if (low.get(top.n) === index.get(top.n)) {
          const scc: string[] = [];
          let x: string;
          do {
            x = stack.pop()!;
            onStack.delete(x);
            scc.push(x);
          } while (x !== top.n);
          if (scc.length > 1 || this.requires(top.n).includes(top.n)) sccs.push(scc);
        }
      }
    }
    return sccs.map((scc) => this.cycleIn(new Set(scc))).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  }

  /** A shortest cycle through the smallest member of a strongly connected component (BFS). */
  private cycleIn(scc: Set<string>): string[] {
    const start = [...scc].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      for (const d of [...this.requires(n)].sort()) {
        if (!scc.has(d)) continue;
        if (d === start) {
          const path = [n];
          while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
          return path;
        }
        if (!prev.has(d)) {
          prev.set(d, n);
          queue.push(d);
        }
      }
    }
    return [start];
  }
}

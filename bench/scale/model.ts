/**
 * A model of distributed S1 fitted to the 1-, 2- and 4-worker runs on one machine, to say what k machines
 * would give. Two parts:
 *
 * - **Universal Scalability Law** (Gunther) over the local runs: X(N) = X(1)·N / (1 + σ(N−1) + κN(N−1)),
 *   σ the contention (serialised share), κ the coherency cost. Two ratios (N = 2, 4) fix σ and κ exactly.
 *   On a 2-core box this mostly measures the box: the workers, PostgreSQL and MariaDB share the same cores.
 * - **Bottleneck bounds** (operational laws, Denning & Buzen: utilisation U = X·D): each tier's CPU demand
 *   per source row D (CPU seconds the tier used / rows moved). With the workers on k machines of c cores
 *   and PostgreSQL and MariaDB on their own servers, throughput is bounded by every tier at once:
 *   X ≤ k·c / D_workers, X ≤ c_pg / D_postgres, X ≤ c_legacy / D_mariadb, and by concurrency,
 *   X ≤ n · X(1) for n busy workers (never more than the work items), X(1) the rate one worker reached
 *   here: a worker runs its item's batches one after another, so it cannot go faster than alone.
 *   The smallest bound is the prediction.
 */

export interface Measurement {
  workers: number;
  rowsPerSecond: number;
}

export interface UslFit {
  sigma: number;
  kappa: number;
  /** X(1), rows/s. */
  lambda: number;
}

/** σ and κ from X(1), X(2), X(4): two linear equations in the linearised USL, N·X(1)/X(N) − 1 = σ(N−1) + κN(N−1). */
export function fitUsl(points: readonly Measurement[]): UslFit {
  const at = (n: number): number => {
    const p = points.find((m) => m.workers === n);
    if (!p) throw new Error(`fitUsl: expected a measurement with ${n} worker(s)`);
    return p.rowsPerSecond;
  };
  const lambda = at(1);
  const y2 = (2 * lambda) / at(2) - 1; // = σ + 2κ
  const y4 = (4 * lambda) / at(4) - 1; // = 3σ + 12κ
  const kappa = (y4 - 3 * y2) / 6;
  const sigma = y2 - 2 * kappa;
  return { sigma, kappa, lambda };
}

export function uslThroughput(fit: UslFit, workers: number): number {
  return (fit.lambda * workers) / (1 + fit.sigma * (workers - 1) + fit.kappa * workers * (workers - 1));
}

/** CPU seconds per source row, per tier. */
export interface Demands {
  workers: number;
  postgres: number;
  mariadb: number;
}

export interface Deployment {
  machines: number;
  coresPerMachine: number;
  workersPerMachine: number;
  postgresCores: number;
  mariadbCores: number;
  /** Work items available at once: a tenant is one item, so never more busy workers than tenants. */
  items: number;
  /** X(1): rows/s one worker moved alone (measured). */
  perWorkerRowsPerSecond: number;
}

export interface Prediction {
  rowsPerSecond: number;
  bottleneck: 'worker machines' | 'PostgreSQL' | 'MariaDB' | 'concurrency (workers or items)';
  bounds: Record<Prediction['bottleneck'], number>;
}

export function predict(d: Demands, deployment: Deployment): Prediction {
  const busy = Math.min(deployment.machines * deployment.workersPerMachine, deployment.items);
  const bounds: Prediction['bounds'] = {
    'worker machines': (deployment.machines * deployment.coresPerMachine) / d.workers,
    PostgreSQL: deployment.postgresCores / d.postgres,
    MariaDB: deployment.mariadbCores / d.mariadb,
    'concurrency (workers or items)': busy * deployment.perWorkerRowsPerSecond,
  };
  const [bottleneck, rowsPerSecond] = (Object.entries(bounds) as Array<[Prediction['bottleneck'], number]>).reduce((a, b) => (b[1] < a[1] ? b : a));
  return { rowsPerSecond, bottleneck, bounds };
}

import { describe, expect, it } from 'vitest';
import { fitUsl, predict, uslThroughput } from './model';

describe('the scale-out model', () => {
  it('fits σ and κ that reproduce the measured 2- and 4-worker throughputs', () => {
    const points = [
      { workers: 1, rowsPerSecond: 10_000 },
      { workers: 2, rowsPerSecond: 16_000 },
      { workers: 4, rowsPerSecond: 20_000 },
    ];
    const fit = fitUsl(points);
    for (const p of points) expect(uslThroughput(fit, p.workers)).toBeCloseTo(p.rowsPerSecond, 6);
    expect(fit.sigma).toBeGreaterThan(0);
  });

  it('linear scaling fits σ = κ = 0', () => {
    const fit = fitUsl([1, 2, 4].map((n) => ({ workers: n, rowsPerSecond: 5_000 * n })));
    expect([fit.sigma, fit.kappa]).toEqual([0, 0]);
  });

  it('names the tier whose bound is lowest: PostgreSQL once the worker machines outgrow it', () => {
    const demands = { workers: 0.0001, postgres: 0.00005, mariadb: 0.00001 };
    const few = predict(demands, {
      machines: 1,
      coresPerMachine: 2,
      workersPerMachine: 4,
      postgresCores: 8,
      mariadbCores: 8,
      items: 1000,
      perWorkerRowsPerSecond: 6_000,
    });
    expect(few.bottleneck).toBe('worker machines');
    expect(few.rowsPerSecond).toBeCloseTo(20_000, 6);
    const many = predict(demands, {
      machines: 20,
      coresPerMachine: 2,
      workersPerMachine: 2,
      postgresCores: 8,
      mariadbCores: 8,
      items: 1000,
      perWorkerRowsPerSecond: 6_000,
    });
    expect(many.bottleneck).toBe('PostgreSQL');
    expect(many.rowsPerSecond).toBeCloseTo(160_000, 6);
  });

  it('never predicts more busy workers than there are work items', () => {
    const demands = { workers: 0.0001, postgres: 0.00001, mariadb: 0.00001 };
    const p = predict(demands, {
      machines: 10,
      coresPerMachine: 4,
      workersPerMachine: 4,
      postgresCores: 64,
      mariadbCores: 64,
      items: 2,
      perWorkerRowsPerSecond: 6_000,
    });
    expect(p.bottleneck).toBe('concurrency (workers or items)');
    expect(p.rowsPerSecond).toBe(12_000);
  });
});

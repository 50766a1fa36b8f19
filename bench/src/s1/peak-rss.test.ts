import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { samplePeakRss } from './peak-rss';

describe('samplePeakRss', () => {
  it('walks the process tree: the peak comes from the child holding 200 MiB, not the shell that started it', async () => {
    // A shell parent (small) runs a node child that touches 200 MiB and holds it briefly.
    const parent = spawn('sh', ['-c', `${process.execPath} -e "const b = Buffer.alloc(200 * 2 ** 20, 1); setTimeout(() => b.length, 1500)" --title=rss-probe`]);
    const sampler = samplePeakRss(parent.pid!, /rss-probe/, 50);
    await new Promise((resolve) => parent.on('close', resolve));
    const peak = sampler.stop();
    expect([peak >= 200, peak < 400]).toEqual([true, true]);
  });
});

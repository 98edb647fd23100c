import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSecondsPer1k, parseProcStat, parseVmHwmKb, processTree, sampleProcess } from '../../bench/process-sampler.js';

describe('process sampler', () => {
  it('parses /proc stat lines whose command name holds spaces and parentheses', () => {
    const line = '4242 (node (x) y) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    expect(parseProcStat(line)).toEqual({ ppid: 17, cpuTicks: 300 });
    expect(parseVmHwmKb('Name:\tnode\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n')).toBe(51200);
    expect(parseVmHwmKb('Name:\tzombie\n')).toBe(0);
  });

  it('sees CPU time grow while this process works, and a peak RSS', () => {
    const before = sampleProcess(process.pid);
    const cpuBefore = process.cpuUsage();
    // Busy until this process has used 200 ms of CPU (wall time varies on a shared machine).
    const deadline = Date.now() + 5000;
    let x = 0;
    const usedMs = (): number => {
      const u = process.cpuUsage(cpuBefore);
      return (u.user + u.system) / 1000;
    };
    while (usedMs() < 200 && Date.now() < deadline) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    const after = sampleProcess(process.pid);
    const used = usedMs() / 1000;
    expect(x).toBeGreaterThan(0);
    // /proc counts in 10 ms ticks; every thread of the process counts, so it can only be more.
    expect(after.cpuSeconds - before.cpuSeconds).toBeGreaterThanOrEqual(used - 0.03);
    expect(after.peakRssMb).toBeGreaterThan(20);
    expect(cpuSecondsPer1k({ cpuSeconds: 1, peakRssMb: 0 }, { cpuSeconds: 3, peakRssMb: 0 }, 40_000)).toBe(0.05);
    expect(cpuSecondsPer1k(before, after, 0)).toBeNull();
  });

  it('includes child processes in the tree and fails clearly for a process that is gone', async () => {
    const child = spawn('sleep', ['5']);
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      expect(processTree(process.pid)).toContain(child.pid);
    } finally {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(() => sampleProcess(child.pid!)).toThrow(/is not running/);
  });
});

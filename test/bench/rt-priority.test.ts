// bench --rt: the request path's processes SCHED_FIFO for a window, then back (real processes, chrt).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { realtimeWindow } from '../../bench/rt-priority.js';

/** The scheduling policy of pid (0 SCHED_OTHER, 1 SCHED_FIFO): field 41 of /proc/PID/stat. */
function policy(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
}

const canRt = spawnSync('chrt', ['-f', '1', 'true']).status === 0;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

describe.skipIf(!canRt)('realtimeWindow', () => {
  it('puts a process and its children SCHED_FIFO for the window and back after', () => {
    // sh waits on its sleep child: the child must follow (nginx's workers are the master's children).
    const parent = spawn('sh', ['-c', 'sleep 30; true'], { stdio: 'ignore' });
    children.push(parent);
    let child = 0;
    for (let i = 0; i < 200 && child === 0; i++) {
      spawnSync('sleep', ['0.01']);
      child = Number(readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(' ')[0] || 0);
    }
    expect(child).toBeGreaterThan(0);
    const window = realtimeWindow([parent.pid!]);
    expect(policy(parent.pid!)).toBe(1);
    expect(policy(child)).toBe(1);
    window.end();
    try {
      expect(policy(parent.pid!)).toBe(0);
      expect(policy(child)).toBe(0);
    } finally {
      process.kill(child, 'SIGKILL'); // killing sh alone would leave its sleep running 30 s
    }
  });

  it('puts back a child forked during the window, which inherited SCHED_FIFO from its parent', () => {
    // sh forks its sleep only once told to, inside the window (a worker respawned, a reload's new workers).
    const parent = spawn('sh', ['-c', 'read line; sleep 30; true'], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(parent);
    const window = realtimeWindow([parent.pid!]);
    let child = 0;
    try {
      parent.stdin!.write('go\n');
      for (let i = 0; i < 200 && child === 0; i++) {
        spawnSync('sleep', ['0.01']);
        child = Number(readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(' ')[0] || 0);
      }
      expect(child).toBeGreaterThan(0);
      expect(policy(child)).toBe(1); // inherited from the real-time parent
    } finally {
      window.end();
    }
    try {
      expect(policy(parent.pid!)).toBe(0);
      expect(policy(child)).toBe(0);
    } finally {
      if (child > 0) process.kill(child, 'SIGKILL');
    }
  });

  it('refuses a process that is not there, naming --rt, and leaves the others as they were', () => {
    const live = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(live);
    expect(() => realtimeWindow([live.pid!, 2 ** 22 + 12345])).toThrow(/--rt: chrt .* failed/);
    expect(policy(live.pid!)).toBe(0);
  });
});

// A command started with an IPC channel (as `isthmus up` starts its
// control plane and sidecars) stops when that channel closes: the parent
// exited or was killed, even by SIGKILL, and nothing should outlive it.
// The stop is the process's own graceful SIGTERM path. The channel is
// unref'd, so it never keeps a finished command alive. The parent also
// read our stdout: log lines from then on are dropped, not written to a
// broken pipe (which would block the exit).
// (log.js by dynamic import: the CLI's entry stays free of pino for short commands.)

/** Takes nothing; watches the IPC channel when the process has one. */
export function exitWithParent(): void {
  const channel = process.channel;
  if (channel === undefined) return;
  process.once('disconnect', () => {
    void import('../log.js').then(
      (log) => log.discardLogOutput(),
      () => undefined,
    ).finally(() => process.kill(process.pid, 'SIGTERM'));
  });
  channel.unref();
}

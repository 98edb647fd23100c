// A command started with an IPC channel (as `isthmus up` starts its
// control plane and sidecars) stops when that channel closes: the parent
// exited or was killed, even by SIGKILL, and nothing should outlive it.
// The stop is the process's own graceful SIGTERM path. The channel is
// unref'd, so it never keeps a finished command alive. (The parent also
// read our stdout: src/log.ts drops log lines a broken pipe refuses.)

/** Takes nothing; watches the IPC channel when the process has one. */
export function exitWithParent(): void {
  const channel = process.channel;
  if (channel === undefined) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  channel.unref();
}

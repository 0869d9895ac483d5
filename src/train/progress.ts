import cliProgress from 'cli-progress';

/** A progress display for a loop of `total` steps; silent when quiet or stderr is not a TTY. */
export interface Progress {
  tick(info?: Record<string, string | number>): void;
  stop(): void;
}

/**
 * A cli-progress bar on stderr (so `--json` output on stdout stays clean). Quiet when `quiet` is
 * true, when stderr is not a TTY, or when UNLEARN_QUIET=1.
 */
export function createProgress(label: string, total: number, quiet = false): Progress {
  if (quiet || !process.stderr.isTTY || process.env.UNLEARN_QUIET === '1') return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(14)} {bar} {percentage}% | {value}/{total} | eta {eta}s | loss {loss}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { loss: '-' });
  return {
    tick(info) {
      const payload = info && typeof info.loss === 'number' ? { ...info, loss: info.loss.toFixed(4) } : info;
      bar.increment(1, payload);
    },
    stop() {
      bar.stop();
    },
  };
}

import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * What the kernel says about the processes under test: memory from /proc/<pid>/status, CPU time from
 * /proc/<pid>/stat. Linux only; elsewhere every reading is undefined and the report says "n/a".
 */

export interface MemoryReading {
  /** Resident set size now. */
  rssBytes: number;
  /** Peak resident set size since start, or since the last resetPeak. */
  peakBytes: number;
}

export function readMemory(pid: number): MemoryReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rssBytes = kib('VmRSS');
    const peakBytes = kib('VmHWM');
    return Number.isFinite(rssBytes) && Number.isFinite(peakBytes) ? { rssBytes, peakBytes } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resets VmHWM (writing 5 to clear_refs, Linux ≥ 4.0), so the peak no longer includes start-up: loading the
 * workflow bundle and creating the first workflow threads.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const CLOCK_TICKS = (() => {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

/** User plus system CPU seconds the process has used so far. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces, so fields are counted from the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The dev server's SQLite database as it sits on disk: the main file plus its write-ahead log. */
export function sqliteSize(dbFile: string): { db: number; wal: number; shm: number; total: number } {
  const db = fileSize(dbFile);
  const wal = fileSize(`${dbFile}-wal`);
  const shm = fileSize(`${dbFile}-shm`);
  return { db, wal, shm, total: db + wal + shm };
}

/**
 * Samples the RSS of named processes a few times a second, so a phase can report the highest resident size
 * it saw even where VmHWM cannot be reset.
 */
export class MemorySampler {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  sample(): void {
    for (const [name, pid] of Object.entries(this.pids())) {
      if (pid === undefined) continue;
      const reading = readMemory(pid);
      if (reading) this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, reading.rssBytes));
    }
  }

  /** The highest RSS seen per process since the last call; starts a new window. */
  takePeaks(): Record<string, number> {
    this.sample();
    const peaks = Object.fromEntries(this.peaks);
    this.peaks.clear();
    return peaks;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

interface MachineTicks {
  busy: number;
  iowait: number;
  total: number;
}

/** The whole machine's CPU time from the first line of /proc/stat, every process counted, ours or not. */
function readMachineTicks(): MachineTicks | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal; guest time is already inside user.
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, iowait, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

export interface MachineUsage {
  /** Cores busy on average over the phase, every process on the machine counted. */
  busyCores: number;
  /** Cores busy on average with processes other than the ones under test (other users' work, the kernel). */
  otherCores: number;
  /** Cores idle while waiting for the disk, on average. */
  iowaitCores: number;
}

/** CPU seconds per process over one phase, and how busy the machine as a whole was meanwhile. */
export class CpuMeter {
  private readonly startedAt = new Map<string, number>();
  private machineAtStart: MachineTicks | undefined;
  private wallAtStart = 0;
  private lastMachine: MachineUsage | undefined;

  constructor(private readonly pids: () => Record<string, number | undefined>) {}

  private now(): Record<string, number> {
    const readings: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      const seconds = pid === undefined ? undefined : readCpuSeconds(pid);
      if (seconds !== undefined) readings[name] = seconds;
    }
    return readings;
  }

  begin(): void {
    this.startedAt.clear();
    for (const [name, seconds] of Object.entries(this.now())) this.startedAt.set(name, seconds);
    this.machineAtStart = readMachineTicks();
    this.wallAtStart = performance.now();
  }

  end(): Record<string, number> {
    const used: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(this.now())) {
      const start = this.startedAt.get(name);
      if (start !== undefined) used[name] = seconds - start;
    }
    const machine = readMachineTicks();
    const wallSeconds = (performance.now() - this.wallAtStart) / 1000;
    if (machine && this.machineAtStart && wallSeconds > 0) {
      const cores = (ticks: number) => ticks / CLOCK_TICKS / wallSeconds;
      const busyCores = cores(machine.busy - this.machineAtStart.busy);
      const ours = Object.values(used).reduce((sum, seconds) => sum + seconds, 0) / wallSeconds;
      this.lastMachine = { busyCores, otherCores: Math.max(0, busyCores - ours), iowaitCores: cores(machine.iowait - this.machineAtStart.iowait) };
    } else this.lastMachine = undefined;
    return used;
  }

  /** The machine over the phase that the last end() closed. */
  machine(): MachineUsage | undefined {
    return this.lastMachine;
  }
}

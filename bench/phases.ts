import { LIFECYCLE_STEPS, type AgencyWatch, type LifecycleSample, type PhaseRecorder } from './operations.js';
import type { Completion, LoadResult } from './load.js';
import type { CpuMeter, MachineUsage, MemorySampler } from './processes.js';
import type { PhaseReport } from './report.js';
import { percentiles } from './stats.js';

/** One load phase of full lifecycles, measured: its own agency recorder, CPU meter window and memory peaks. */

export function summariseErrors(samples: Completion[]): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const s of samples) if (!s.ok) errors[s.error ?? 'unknown'] = (errors[s.error ?? 'unknown'] ?? 0) + 1;
  return errors;
}

export type PhaseExtra = Pick<PhaseReport, 'offeredRatePerSecond' | 'concurrency' | 'durationSeconds' | 'door'>;

export function lifecyclePhase(
  result: LoadResult<LifecycleSample>,
  recorder: PhaseRecorder,
  cpuSeconds: Record<string, number>,
  machine: MachineUsage | undefined,
  peakRss: Record<string, number>,
  extra: PhaseExtra,
  probed: boolean,
): PhaseReport {
  const done = result.samples.filter((s) => s.ok);
  const all = <K extends keyof LifecycleSample>(key: K) => done.map((s) => s[key] as number);
  const phaseSeconds = (result.drainedAt - result.startedAt) / 1000;
  return {
    ...extra,
    started: result.samples.length,
    completed: result.completed,
    failed: result.failed,
    throughputPerSecond: result.throughputPerSecond,
    throughputMethod: result.throughputMethod,
    windowSeconds: result.windowSeconds,
    drainSeconds: (result.drainedAt - result.arrivalsEndedAt) / 1000,
    lifecycleMs: percentiles(all('lifecycleMs')),
    stepsMs: Object.fromEntries(LIFECYCLE_STEPS.map((step) => [step, percentiles(done.map((s) => s.stepsMs![step]))])),
    assessRoundTripMs: percentiles(all('assessRoundTripMs')),
    decisionRoundTripMs: percentiles(done.flatMap((s) => s.decisionRoundTripMs ?? [])),
    decisionsResent: done.reduce((sum, s) => sum + (s.decisionsResent ?? 0), 0),
    notifyAllMs: percentiles(all('notifyAllMs')),
    notifyAllFromSendMs: percentiles(all('notifyAllFromSendMs')),
    notifyEachMs: percentiles(done.flatMap((s) => s.notifyEachMs ?? [])),
    ...(probed ? { answerMs: percentiles(recorder.answerLatencyMs), answerProbesUnresolved: recorder.answerProbesUnresolved } : {}),
    eventsDeliveredPerSecond: recorder.eventsDelivered / phaseSeconds,
    stateQueriesPerOperation: result.samples.length > 0 ? recorder.stateQueries / result.samples.length : 0,
    cpuSeconds,
    ...(machine ? { machine } : {}),
    cpuMsPerOperation: Object.fromEntries(Object.entries(cpuSeconds).map(([name, s]) => [name, result.completed > 0 ? (s * 1000) / result.completed : 0])),
    peakRssBytes: peakRss,
    errors: summariseErrors(result.samples),
  };
}

/** Measures load phases of lifecycles with the run's agency watch, memory sampler and CPU meter. */
export class PhaseMeter {
  constructor(
    private readonly watch: AgencyWatch,
    private readonly sampler: MemorySampler,
    private readonly cpu: CpuMeter,
    private readonly log: (line: string) => void,
  ) {}

  async measure(
    title: string,
    load: () => Promise<LoadResult<LifecycleSample>>,
    extra: PhaseExtra,
    probed = false,
  ): Promise<{ report: PhaseReport; samples: LifecycleSample[] }> {
    this.log(title);
    const recorder = this.watch.beginPhase();
    this.sampler.takePeaks();
    this.cpu.begin();
    const result = await load();
    const report = lifecyclePhase(result, recorder, this.cpu.end(), this.cpu.machine(), this.sampler.takePeaks(), extra, probed);
    const decisions = report.decisionRoundTripMs
      ? `; decision round trip p50/p99 ${report.decisionRoundTripMs.p50.toFixed(1)}/${report.decisionRoundTripMs.p99.toFixed(1)} ms`
      : '';
    this.log(`  ${result.completed} completed, ${result.failed} failed, ${report.throughputPerSecond.toFixed(2)}/s${decisions}`);
    return { report, samples: result.samples };
  }
}

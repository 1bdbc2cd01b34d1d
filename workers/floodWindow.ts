import type { NotAppliedReason } from '../domain/index.js';

/**
 * Amplification bounded: what the bridge tells an agency about its refused answers, per flood window. Each
 * refused answer is dead-lettered, but telling the agency about every one would let a flood of N answers write
 * N more messages into LOS_OUT, which every agency shares. Within one window (opened by an agency's first
 * refusal) the first refusal for a reason and operation is told in full; a repeat of it (same reason, same
 * operation), and anything beyond `maxTold` full tells, is counted instead, and when the window ends the agency
 * gets one summary per reason: how many more, between which stream sequences.
 */
export interface RefusalSummary {
  agency: string;
  reason: NotAppliedReason;
  count: number;
  firstSequence: number;
  lastSequence: number;
  /** The subject of the last answer counted. */
  lastSubject: string;
}

interface AgencyWindow {
  told: Set<string>;
  toldCount: number;
  counted: Map<NotAppliedReason, Omit<RefusalSummary, 'agency' | 'reason'>>;
}

export class FloodWindows {
  private readonly windows = new Map<string, AgencyWindow>();

  /**
   * @param maxTold full tells per agency per window; the rest are summarised.
   */
  constructor(private readonly maxTold = 20) {}

  /**
   * Whether to tell this refusal now ('tell') or count it into the window's summary ('count'); `opened` when it
   * opened the agency's window (the caller closes it when the window has passed).
   */
  judge(
    agency: string,
    reason: NotAppliedReason,
    operationId: string | undefined,
    sequence: number,
    subject: string,
  ): { verdict: 'tell' | 'count'; opened: boolean } {
    let window = this.windows.get(agency);
    const opened = !window;
    if (!window) this.windows.set(agency, (window = { told: new Set(), toldCount: 0, counted: new Map() }));
    const same = `${reason}/${operationId ?? ''}`;
    if (!window.told.has(same) && window.toldCount < this.maxTold) {
      window.told.add(same);
      window.toldCount++;
      return { verdict: 'tell', opened };
    }
    const counted = window.counted.get(reason);
    if (counted) {
      counted.count++;
      counted.firstSequence = Math.min(counted.firstSequence, sequence);
      counted.lastSequence = Math.max(counted.lastSequence, sequence);
      counted.lastSubject = subject;
    } else window.counted.set(reason, { count: 1, firstSequence: sequence, lastSequence: sequence, lastSubject: subject });
    return { verdict: 'count', opened };
  }

  /** Ends the agency's window: one summary per reason that had repeats. */
  close(agency: string): RefusalSummary[] {
    const window = this.windows.get(agency);
    this.windows.delete(agency);
    return [...(window?.counted ?? [])].map(([reason, counted]) => ({ agency, reason, ...counted }));
  }

  /** The agencies with an open window. */
  open(): string[] {
    return [...this.windows.keys()];
  }
}

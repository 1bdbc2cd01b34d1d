import type { AgencyId, Outcome } from '../domain/index.js';
import { connectAgency, type AgencyClient, type AgencyCredentials, type ReceivedEvent } from './client.js';

/**
 * Simulated agency systems for the demo and the tests. Each behaves like a real agency's integration: it
 * reads its own events over NATS and answers by event, nothing more.
 */
export interface AgencyBehaviour {
  /** Accept mandate requests with this contact function, or decline with this reason. */
  mandate: { accept: true; contactFunction: string } | { accept: false; reason: string };
  /** Findings and sanctions reported after the action. */
  findings?: { text: string; sanctions: Outcome[] };
  /** Outcomes reported at follow-up. */
  outcomes?: Outcome[];
  /** Stay silent on these requests, to exercise deadlines. */
  ignore?: ReadonlyArray<ReceivedEvent['name']>;
  /**
   * How long the agency's system works on each event before it answers and acknowledges, drawn at random
   * between min and max milliseconds; the default answers at once. The chaos suite uses it so that faults
   * also land while events are being worked on.
   */
  thinkMs?: { min: number; max: number };
}

export interface SimulatedAgency {
  agency: AgencyId;
  /** Every event received, in order, including redeliveries. */
  received: ReceivedEvent[];
  stop(): Promise<void>;
}

export interface SimulatedAgencyOptions {
  servers: string | string[];
  credentials?: AgencyCredentials;
  /** For a `tls://` server: the CA to trust. */
  tls?: { caFile: string };
  onEvent?: (agency: AgencyId, event: ReceivedEvent) => void;
  onAnswer?: (agency: AgencyId, answer: string, operationId: string, detail?: string) => void;
}

export async function startSimulatedAgency(agency: AgencyId, behaviour: AgencyBehaviour, options: SimulatedAgencyOptions): Promise<SimulatedAgency> {
  const client: AgencyClient = await connectAgency({
    agency,
    servers: options.servers,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const received: ReceivedEvent[] = [];
  const think = behaviour.thinkMs;
  const seen = async (event: ReceivedEvent) => {
    received.push(event);
    options.onEvent?.(agency, event);
    if (think) await new Promise((resolveLater) => setTimeout(resolveLater, think.min + Math.random() * (think.max - think.min)));
    return !(behaviour.ignore ?? []).includes(event.name);
  };
  /** Events that need no answer are only noted. */
  const noteOnly = async (event: ReceivedEvent) => {
    await seen(event);
  };
  const answered = (answer: string, operationId: string, detail?: string) => options.onAnswer?.(agency, answer, operationId, detail);

  client
    .on('mandate_requested', async (event) => {
      if (!(await seen(event))) return;
      if (behaviour.mandate.accept) {
        await client.accept(event, {
          tools: event.data.tools.length > 0 ? event.data.tools : ['general_supervision'],
          contactFunction: behaviour.mandate.contactFunction,
        });
        answered('mandate_accepted', event.operationId);
      } else {
        await client.decline(event, behaviour.mandate.reason);
        answered('mandate_declined', event.operationId, behaviour.mandate.reason);
      }
    })
    .on('information_requested', async (event) => {
      if (!(await seen(event))) return;
      await client.provideInformation(event, 'Registered activity matches; no open cases that require holding back.');
      answered('information_provided', event.operationId);
    })
    .on('briefing', async (event) => {
      if (!(await seen(event))) return;
      await client.confirmReadiness(event, { staff: 2 });
      answered('readiness_confirmed', event.operationId);
    })
    .on('action_started', noteOnly)
    .on('findings_requested', async (event) => {
      if (!(await seen(event))) return;
      const findings = behaviour.findings ?? { text: 'Inspection carried out; nothing to remark.', sanctions: [] };
      await client.reportFindings(event, { findings: findings.text, sanctions: findings.sanctions });
      answered('findings_reported', event.operationId);
    })
    .on('outcome_requested', async (event) => {
      if (!(await seen(event))) return;
      await client.reportOutcome(event, behaviour.outcomes && behaviour.outcomes.length > 0 ? behaviour.outcomes : [{ kind: 'none' }]);
      answered('outcome_reported', event.operationId);
    })
    .on('action_rescheduled', noteOnly)
    .on('action_called_off', noteOnly)
    .on('reminder', noteOnly)
    .on('second_wave_notice', noteOnly)
    .on('operation_closed', noteOnly)
    .on('operation_cancelled', noteOnly)
    .on('tip_corrected', noteOnly);
  await client.start();

  return { agency, received, stop: () => client.close() };
}

/** A realistic set of answers for the demo: most accept, Länsstyrelsen declines with a reason. */
export const DEMO_BEHAVIOURS: Partial<Record<AgencyId, AgencyBehaviour>> = {
  kommun_alkohol: {
    mandate: { accept: true, contactFunction: 'alkoholhandläggare, tillståndsenheten' },
    findings: { text: 'Serving alcohol beyond the licence hours; no responsible manager present.', sanctions: [] },
    outcomes: [{ kind: 'licence_revoked' }],
  },
  polisen: {
    mandate: { accept: true, contactFunction: 'LOS-samordnare, lokalpolisområde Umeå' },
    findings: { text: 'Two employees without work permits; cash found on the premises.', sanctions: [{ kind: 'criminal_report' }] },
    outcomes: [{ kind: 'criminal_report' }],
  },
  skatteverket: {
    mandate: { accept: true, contactFunction: 'kontrollenheten, personalliggare' },
    findings: { text: 'Staff register incomplete; cash register not certified.', sanctions: [{ kind: 'sanction_fee', amountSek: 12_500 }] },
    outcomes: [{ kind: 'tax_reassessment', amountSek: 840_000 }],
  },
  arbetsmiljoverket: {
    mandate: { accept: true, contactFunction: 'inspektionsavdelningen, region norr' },
    findings: { text: 'Unsafe kitchen ventilation; prohibition issued.', sanctions: [{ kind: 'sanction_fee', amountSek: 50_000 }] },
    outcomes: [{ kind: 'sanction_fee', amountSek: 50_000 }],
  },
  migrationsverket: {
    mandate: { accept: true, contactFunction: 'enheten för arbetstillstånd' },
    findings: { text: 'Two work permits to be reviewed.', sanctions: [] },
    outcomes: [{ kind: 'fine', amountSek: 90_000 }],
  },
  kronofogden: {
    mandate: { accept: true, contactFunction: 'utmätningsenheten' },
    findings: { text: 'Seized cash held for outstanding debts.', sanctions: [{ kind: 'assets_seized', valueSek: 180_000 }] },
    outcomes: [{ kind: 'assets_seized', valueSek: 180_000 }],
  },
  lansstyrelsen: {
    mandate: { accept: false, reason: 'A restaurant is not under our anti-money-laundering supervision; Polisen covers it.' },
  },
};

export function defaultBehaviour(agency: AgencyId): AgencyBehaviour {
  return DEMO_BEHAVIOURS[agency] ?? { mandate: { accept: true, contactFunction: `${agency} LOS-funktion` } };
}

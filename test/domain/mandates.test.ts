import { describe, expect, it } from 'vitest';
import {
  ACTIVITY_CATEGORIES,
  AGENCY_IDS,
  CatalogueSnapshot,
  Tip,
  applicableTools,
  briefing,
  candidateAgencies,
  catalogueSnapshot,
  loadCatalogue,
  mandateRequest,
  quorumMet,
  secondWaveRecipients,
  summariseOutcomes,
  type AgencyStatus,
} from '../../domain/index.js';
import { loadCatalogueFile } from '../../config/index.js';

const catalogue = loadCatalogueFile();

const tip = Tip.parse({
  entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, Umeå', municipality: 'Umeå' },
  categories: ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation'],
  description: 'Cash deposits do not match turnover.',
  urgency: 'high',
  source: { kind: 'agency', agency: 'polisen', protected: true, reference: 'informant K-17' },
  receivedAt: '2026-11-02T09:15:00Z',
});

describe('mandate catalogue', () => {
  it('finds the agencies whose legal tools cover the tip', () => {
    expect(candidateAgencies(tip.categories, catalogue)).toEqual([
      'kommun_alkohol',
      'polisen',
      'skatteverket',
      'arbetsmiljoverket',
      'kronofogden',
      'migrationsverket',
      'lansstyrelsen',
    ]);
  });

  it('offers each agency only the tools that apply', () => {
    expect(applicableTools('skatteverket', ['labour_exploitation'], catalogue)).toEqual(['staff_register_check']);
  });

  it('rejects a catalogue entry with an unknown category, naming where it is', () => {
    const bad = { version: 1, agencies: [{ id: 'polisen', name: 'Polisen', tools: [{ id: 'x', name: 'X', categories: ['jaywalking'] }] }] };
    expect(() => loadCatalogue(bad)).toThrow(/agencies\.0\.tools\.0\.categories\.0/);
  });

  it('rejects a catalogue that lists an agency twice', () => {
    const entry = { id: 'polisen', name: 'Polisen', tools: [{ id: 'x', name: 'X', categories: ['smuggling'] }] };
    expect(() => loadCatalogue({ version: 1, agencies: [entry, entry] })).toThrow(/agencies\.1\.id: agency "polisen" is listed twice/);
  });

  it("gives an operation a snapshot that answers every rule as the whole catalogue does, for the tip's categories", () => {
    const pairs = ACTIVITY_CATEGORIES.flatMap((a, i) => ACTIVITY_CATEGORIES.slice(i).map((b) => [...new Set([a, b])]));
    for (const categories of pairs) {
      const snapshot = catalogueSnapshot(catalogue, categories);
      expect(CatalogueSnapshot.parse(snapshot)).toEqual(snapshot);
      expect(catalogueSnapshot(snapshot, categories)).toEqual(snapshot);
      expect(candidateAgencies(categories, snapshot)).toEqual(candidateAgencies(categories, catalogue));
      for (const agency of AGENCY_IDS) expect(applicableTools(agency, categories, snapshot)).toEqual(applicableTools(agency, categories, catalogue));
      // The second wave and the decisions that name agencies need every agency, in catalogue order.
      expect(secondWaveRecipients(snapshot, ['polisen'], [])).toEqual(secondWaveRecipients(catalogue, ['polisen'], []));
    }
    const snapshot = catalogueSnapshot(catalogue, ['unlicensed_alcohol', 'labour_exploitation']);
    expect(snapshot.agencies.find((a) => a.id === 'skatteverket')).toEqual({
      id: 'skatteverket',
      tools: [
        { id: 'staff_register_check', categories: ['labour_exploitation'] },
        { id: 'cash_register_check', categories: ['unlicensed_alcohol'] },
      ],
      // The legal grounds travel with the operation: its disclosure register names them.
      legalGrounds: catalogue.agencies.find((a) => a.id === 'skatteverket')!.legalGrounds,
    });
    expect(snapshot.agencies.find((a) => a.id === 'tullverket')).toEqual({ id: 'tullverket' });
    expect(JSON.stringify(snapshot).length).toBeLessThan(JSON.stringify(catalogue).length / 2);
  });
});

describe('need to know', () => {
  const correlation = { operationId: 'op', requestId: 'r' };

  it('gives a mandate request only entity, categories and municipality', () => {
    const request = mandateRequest(tip, correlation, ['tax_audit'], '2026-11-10T00:00:00Z');
    expect(Object.keys(request).sort()).toEqual(['answerBy', 'categories', 'correlation', 'entity', 'municipality', 'tools']);
    expect(JSON.stringify(request)).not.toContain('Cash deposits');
  });

  it('gives a briefing the description but never the source', () => {
    const text = JSON.stringify(briefing(tip, correlation, { at: '2026-11-20T18:00:00Z', place: 'Storgatan 12', lead: 'polisen' }, ['polisen']));
    expect(text).toContain('Cash deposits');
    expect(text).not.toContain('informant K-17');
    expect(text).not.toContain('"source"');
  });
});

describe('quorum and outcome summary', () => {
  const status = (agency: AgencyStatus['agency'], patch: Partial<AgencyStatus>): AgencyStatus => ({
    agency,
    mandate: 'accepted',
    tools: [],
    ready: true,
    findings: 'reported',
    sanctions: [],
    outcomes: 'reported',
    reportedOutcomes: [],
    settledOutcomes: [],
    ...patch,
  });

  it('needs the configured number of accepting agencies', () => {
    const agencies = [status('polisen', {}), status('lansstyrelsen', { mandate: 'declined' }), status('tullverket', { mandate: 'no_answer' })];
    expect(quorumMet(agencies, 2)).toBe(false);
    expect(quorumMet(agencies, 1)).toBe(true);
  });

  it('sums final outcomes and falls back to the action-day sanctions only where no outcome was reported', () => {
    const summary = summariseOutcomes([
      status('kronofogden', { sanctions: [{ kind: 'assets_seized', valueSek: 100 }], reportedOutcomes: [{ kind: 'assets_seized', valueSek: 150 }] }),
      status('skatteverket', { outcomes: 'missing', sanctions: [{ kind: 'sanction_fee', amountSek: 12_500 }] }),
      status('polisen', { reportedOutcomes: [{ kind: 'criminal_report' }, { kind: 'criminal_report' }] }),
      status('lansstyrelsen', { mandate: 'declined', outcomes: 'not_asked' }),
    ]);
    expect(summary).toMatchObject({
      assetsSeizedSek: 150,
      sanctionFeesSek: 12_500,
      criminalReports: 2,
      participants: ['kronofogden', 'skatteverket', 'polisen'],
      declined: ['lansstyrelsen'],
      agenciesWithoutOutcomeReport: ['skatteverket'],
    });
  });
});

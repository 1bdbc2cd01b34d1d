import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * What the recorded histories (test/histories/, recorded from the current code by `npm run record-histories`;
 * replay.test.ts proves the code still makes them) say about what an operation writes: every search-attribute
 * upsert is an event in the history, so none may write a value the run already holds.
 */
const files = Object.keys(JSON.parse(readFileSync(new URL('./histories/manifest.json', import.meta.url), 'utf8')) as Record<string, unknown>);

type Fields = Record<string, { data?: string }>;
interface HistoryEvent {
  workflowExecutionStartedEventAttributes?: { searchAttributes?: { indexedFields?: Fields } };
  upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Fields } };
}

describe('recorded histories', () => {
  it('are there to read', () => expect(files.length).toBeGreaterThan(5));

  it.each(files)('%s writes no search attribute with the value the run already holds', (file) => {
    const { events } = JSON.parse(readFileSync(new URL(`./histories/${file}`, import.meta.url), 'utf8')) as { events: HistoryEvent[] };
    const held = new Map<string, string | undefined>();
    for (const [key, value] of Object.entries(events[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ?? {}))
      held.set(key, value.data);
    const rewritten: string[] = [];
    for (const event of events) {
      const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      if (!fields) continue;
      for (const [key, value] of Object.entries(fields)) {
        if (held.has(key) && held.get(key) === value.data) rewritten.push(key);
        held.set(key, value.data);
      }
    }
    expect(rewritten).toEqual([]);
  });
});

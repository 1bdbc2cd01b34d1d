import { describe, expect, it } from 'vitest';
import { operationsQuery, quote, temporalCliCommand } from '../domain/queries.js';

describe('visibility queries for los list', () => {
  it('lists every LOS operation when no filter is given', () => {
    expect(operationsQuery({})).toBe("WorkflowType = 'losOperation'");
  });

  it('combines filters with AND over the search attributes', () => {
    expect(operationsQuery({ phase: 'joint_action', overdue: true, municipality: 'Umeå', agency: 'skatteverket' })).toBe(
      "LosPhase = 'joint_action' AND LosOverdue = true AND LosMunicipality = 'Umeå' AND LosAgencies = 'skatteverket'",
    );
  });

  it('escapes quotes and backslashes so a value cannot end the string early', () => {
    expect(quote("Upplands Väsby' OR LosOverdue = true OR 'x")).toBe("'Upplands Väsby\\' OR LosOverdue = true OR \\'x'");
    expect(quote('a\\b')).toBe("'a\\\\b'");
  });

  it('quotes the query for a POSIX shell in the temporal CLI command', () => {
    expect(temporalCliCommand("LosMunicipality = 'O\\'Brien $HOME'", 'default')).toBe(
      "temporal workflow list --namespace default --query \"LosMunicipality = 'O\\\\'Brien \\$HOME'\"",
    );
  });
});

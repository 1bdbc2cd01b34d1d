import { readFileSync } from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  OperationConfig,
  Tip,
  loadCatalogue,
  operationIdFor,
  parseWith,
  type MandateCatalogue,
  type OperationConfigInput,
  type PlainTip,
} from '../domain/index.js';
import type { KeyStore } from '../workers/keys.js';
import { assertPlain, sealTip } from './sealing.js';
import { TASK_QUEUE, searchAttributes, type OperationInput, type OperationResult } from '../workflows/definitions.js';
import type { losOperation } from '../workflows/index.js';

/** The typed client coordinators (and the demo, and the CLI to come) use to start and steer operations. */

export const DEFAULT_CATALOGUE_PATH = new URL('../domain/mandate-catalogue.json', import.meta.url).pathname;

/** Loads and validates a municipality's mandate catalogue; the national default when no path is given. */
export function loadCatalogueFile(path: string = DEFAULT_CATALOGUE_PATH): MandateCatalogue {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`mandate catalogue ${path} could not be read: ${(err as Error).message}`);
  }
  return loadCatalogue(data);
}

export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}

export interface Registration {
  operationId: string;
  /** False when this exact tip was registered before: the existing operation is returned, none is started. */
  started: boolean;
  handle: WorkflowHandle<typeof losOperation>;
}

export interface RegisterOptions {
  /** The key store: the operation's data key is created here and the tip sealed with it before it starts. */
  keys: Pick<KeyStore, 'createDataKey' | 'seal'>;
  config?: OperationConfigInput;
  catalogue?: MandateCatalogue;
  taskQueue?: string;
}

export async function registerTip(client: Client, rawTip: unknown, options: RegisterOptions): Promise<Registration> {
  const tip = parseWith(Tip, rawTip, 'tip');
  if (!tip.ok) throw new InvalidInputError(tip.error);
  const config = parseWith(OperationConfig, options.config ?? {}, 'operation config');
  if (!config.ok) throw new InvalidInputError(config.error);
  try {
    assertPlain(rawTip, 'tip');
  } catch (err) {
    throw new InvalidInputError((err as Error).message);
  }
  const plain = tip.value as PlainTip;
  const operationId = operationIdFor(plain);
  await options.keys.createDataKey(operationId, plain.entity.municipality);
  const sealed = await sealTip(options.keys, operationId, plain);
  const input: OperationInput = { tip: sealed, config: config.value, catalogue: options.catalogue ?? loadCatalogueFile() };
  try {
    const handle = await client.workflow.start<typeof losOperation>('losOperation', {
      workflowId: operationId,
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      args: [input],
      // The same tip never starts a second operation, not even after the first one ended.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // What operators read in the UI's list: domain words, no entity identifiers or other personal data.
      staticSummary: `LOS operation in ${tip.value.entity.municipality}: ${tip.value.categories.join(', ')} (urgency ${tip.value.urgency})`,
      staticDetails: [
        `**Municipality:** ${tip.value.entity.municipality}`,
        `**Suspected activity:** ${tip.value.categories.join(', ')}`,
        `**Urgency:** ${tip.value.urgency}`,
        `**Tip source:** ${tip.value.source.kind}${tip.value.source.protected ? ' (protected)' : ''}`,
      ].join('\n'),
      typedSearchAttributes: [
        { key: searchAttributes.phase, value: 'tip' },
        { key: searchAttributes.municipality, value: tip.value.entity.municipality },
      ],
    });
    return { operationId, started: true, handle };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { operationId, started: false, handle: client.workflow.getHandle<typeof losOperation>(operationId) };
    }
    throw err;
  }
}

export type { OperationResult };

import { readFileSync } from 'node:fs';
import { loadCatalogue, type MandateCatalogue } from '../domain/index.js';

/** The national default catalogue, beside the rules that read it. */
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

import { z } from 'zod';
import { shared } from './shared.js';

/**
 * The agencies that can take part in LOS. Which legal tools each brings, and for which activity categories,
 * is data (the mandate catalogue), not code; this list only fixes the identifiers used on the wire.
 */
export const AGENCY_IDS = [
  'kommun_miljo',
  'kommun_bygg',
  'kommun_alkohol',
  'raddningstjansten',
  'polisen',
  'skatteverket',
  'arbetsmiljoverket',
  'kronofogden',
  'migrationsverket',
  'tullverket',
  'forsakringskassan',
  'lansstyrelsen',
  'ekobrottsmyndigheten',
] as const;

export const AgencyId = shared('agencies.AgencyId', () => z.enum(AGENCY_IDS));
export type AgencyId = z.infer<typeof AgencyId>;

export const ACTIVITY_CATEGORIES = [
  'money_laundering',
  'labour_exploitation',
  'tax_fraud',
  'unlicensed_alcohol',
  'food_safety',
  'fire_safety',
  'building_violation',
  'illegal_gathering_place',
  'benefit_fraud',
  'smuggling',
  'debt_evasion',
  'work_permit_violation',
] as const;

export const ActivityCategory = shared('agencies.ActivityCategory', () => z.enum(ACTIVITY_CATEGORIES));
export type ActivityCategory = z.infer<typeof ActivityCategory>;

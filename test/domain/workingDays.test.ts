import { describe, expect, it } from 'vitest';
import { addWorkingDays, isWorkingDay, parseWorkingDays, stockholmOffsetMinutes, swedishPublicHolidays } from '../../domain/workingDays.js';

function holidayDate(year: number, name: string): string | undefined {
  return swedishPublicHolidays(year).find((holiday) => holiday.name === name)?.date;
}

const utc = (iso: string): number => Date.parse(`${iso}Z`);

describe('Swedish public holidays', () => {
  it('lists every holiday and closed eve of 2026 in date order', () => {
    expect(swedishPublicHolidays(2026)).toEqual([
      { date: '2026-01-01', name: 'nyårsdagen' },
      { date: '2026-01-06', name: 'trettondedag jul' },
      { date: '2026-04-03', name: 'långfredagen' },
      { date: '2026-04-05', name: 'påskdagen' },
      { date: '2026-04-06', name: 'annandag påsk' },
      { date: '2026-05-01', name: 'första maj' },
      { date: '2026-05-14', name: 'Kristi himmelfärdsdag' },
      { date: '2026-05-24', name: 'pingstdagen' },
      { date: '2026-06-06', name: 'nationaldagen' },
      { date: '2026-06-19', name: 'midsommarafton' },
      { date: '2026-06-20', name: 'midsommardagen' },
      { date: '2026-10-31', name: 'alla helgons dag' },
      { date: '2026-12-24', name: 'julafton' },
      { date: '2026-12-25', name: 'juldagen' },
      { date: '2026-12-26', name: 'annandag jul' },
      { date: '2026-12-31', name: 'nyårsafton' },
    ]);
  });

  it('places Easter and the holidays that follow it on the real dates for 2025–2027', () => {
    const expected = {
      2025: { easter: '2025-04-20', goodFriday: '2025-04-18', easterMonday: '2025-04-21', ascension: '2025-05-29', whitsun: '2025-06-08' },
      2026: { easter: '2026-04-05', goodFriday: '2026-04-03', easterMonday: '2026-04-06', ascension: '2026-05-14', whitsun: '2026-05-24' },
      2027: { easter: '2027-03-28', goodFriday: '2027-03-26', easterMonday: '2027-03-29', ascension: '2027-05-06', whitsun: '2027-05-16' },
    };
    for (const [year, dates] of Object.entries(expected)) {
      expect(holidayDate(Number(year), 'påskdagen'), year).toBe(dates.easter);
      expect(holidayDate(Number(year), 'långfredagen'), year).toBe(dates.goodFriday);
      expect(holidayDate(Number(year), 'annandag påsk'), year).toBe(dates.easterMonday);
      expect(holidayDate(Number(year), 'Kristi himmelfärdsdag'), year).toBe(dates.ascension);
      expect(holidayDate(Number(year), 'pingstdagen'), year).toBe(dates.whitsun);
    }
  });

  it('places the moving midsummer and All Saints days on the real dates for 2025–2027', () => {
    expect(holidayDate(2025, 'midsommarafton')).toBe('2025-06-20');
    expect(holidayDate(2026, 'midsommarafton')).toBe('2026-06-19');
    expect(holidayDate(2027, 'midsommarafton')).toBe('2027-06-25');
    expect(holidayDate(2025, 'midsommardagen')).toBe('2025-06-21');
    expect(holidayDate(2026, 'midsommardagen')).toBe('2026-06-20');
    expect(holidayDate(2027, 'midsommardagen')).toBe('2027-06-26');
    expect(holidayDate(2025, 'alla helgons dag')).toBe('2025-11-01');
    expect(holidayDate(2026, 'alla helgons dag')).toBe('2026-10-31');
    expect(holidayDate(2027, 'alla helgons dag')).toBe('2027-11-06');
  });

  it('keeps the list sorted even when Ascension falls before first of May', () => {
    // Easter 2285 is 22 March, the earliest possible, so Ascension is 30 April.
    const dates = swedishPublicHolidays(2285).map((holiday) => holiday.date);
    expect(holidayDate(2285, 'påskdagen')).toBe('2285-03-22');
    expect(holidayDate(2285, 'Kristi himmelfärdsdag')).toBe('2285-04-30');
    expect(dates).toEqual([...dates].sort());
  });
});

describe('working days', () => {
  it('treats weekdays as working days and weekends as not', () => {
    expect(isWorkingDay('2026-03-27')).toBe(true); // Friday
    expect(isWorkingDay('2026-03-28')).toBe(false); // Saturday
    expect(isWorkingDay('2026-03-29')).toBe(false); // Sunday
    expect(isWorkingDay('2026-03-30')).toBe(true); // Monday
  });

  it('treats holidays and closed eves on weekdays as non-working', () => {
    for (const date of ['2026-01-01', '2026-04-03', '2026-04-06', '2026-05-14', '2026-06-19', '2026-12-24', '2026-12-31']) {
      expect(isWorkingDay(date), date).toBe(false);
    }
  });

  it('rejects a date that is not a real YYYY-MM-DD calendar date', () => {
    expect(() => isWorkingDay('2026-02-30')).toThrow(/"2026-02-30" is not a calendar date/);
    expect(() => isWorkingDay('7 April 2026')).toThrow(/YYYY-MM-DD/);
  });
});

describe('Stockholm UTC offset', () => {
  it('switches to summer time at 01:00 UTC on the last Sunday of March', () => {
    expect(stockholmOffsetMinutes(utc('2026-03-29T00:59:59.999'))).toBe(60);
    expect(stockholmOffsetMinutes(utc('2026-03-29T00:59'))).toBe(60);
    expect(stockholmOffsetMinutes(utc('2026-03-29T01:00'))).toBe(120);
  });

  it('switches back to winter time at 01:00 UTC on the last Sunday of October', () => {
    expect(stockholmOffsetMinutes(utc('2026-10-25T00:59'))).toBe(120);
    expect(stockholmOffsetMinutes(utc('2026-10-25T01:00'))).toBe(60);
  });

  it('uses winter time in January and December and summer time in July', () => {
    expect(stockholmOffsetMinutes(utc('2026-01-15T12:00'))).toBe(60);
    expect(stockholmOffsetMinutes(utc('2026-07-15T12:00'))).toBe(120);
    expect(stockholmOffsetMinutes(utc('2026-12-31T23:30'))).toBe(60);
  });
});

describe('adding working days', () => {
  it('skips the weekend', () => {
    // Friday 2026-02-06 14:00 Swedish winter time, five working days on is Friday 2026-02-13.
    expect(addWorkingDays(utc('2026-02-06T13:00'), 1)).toBe(utc('2026-02-09T13:00'));
    expect(addWorkingDays(utc('2026-02-06T13:00'), 5)).toBe(utc('2026-02-13T13:00'));
  });

  it('skips the Easter weekend from Maundy Thursday to Easter Monday', () => {
    // Thursday 2026-04-02 10:00 Swedish summer time is 08:00Z.
    expect(addWorkingDays(utc('2026-04-02T08:00'), 1)).toBe(utc('2026-04-07T08:00'));
  });

  it('keeps the Swedish wall-clock hour across the switch to summer time', () => {
    // Friday 09:00 CET is 08:00Z; Monday 09:00 CEST is 07:00Z.
    expect(addWorkingDays(utc('2026-03-27T08:00'), 1)).toBe(utc('2026-03-30T07:00'));
  });

  it('keeps the Swedish wall-clock hour across the switch back to winter time', () => {
    // Friday 09:00 CEST is 07:00Z; Monday 09:00 CET is 08:00Z.
    expect(addWorkingDays(utc('2026-10-23T07:00'), 1)).toBe(utc('2026-10-26T08:00'));
  });

  it('counts by the Swedish date when the UTC date is still the day before', () => {
    // 23:30Z on Thursday 2026-04-02 is already 01:30 on Good Friday in Sweden. The next working day is Tuesday,
    // and 01:30 on Tuesday in Sweden is 23:30Z on Monday.
    expect(addWorkingDays(utc('2026-04-02T23:30'), 1)).toBe(utc('2026-04-06T23:30'));
  });

  it('skips the Christmas stretch to the Monday after', () => {
    // Wednesday 2026-12-23 10:00 CET; 24–26 are holidays or eves and 27 is a Sunday.
    expect(isWorkingDay('2026-12-28')).toBe(true);
    expect(addWorkingDays(utc('2026-12-23T09:00'), 1)).toBe(utc('2026-12-28T09:00'));
  });

  it('skips New Year and Epiphany across the turn of the year', () => {
    // From Monday 2026-12-28: 29, 30 work; 31 and 1 closed; 2–3 weekend; 4, 5 work; 6 Epiphany; 7 works.
    expect(addWorkingDays(utc('2026-12-28T09:00'), 5)).toBe(utc('2027-01-07T09:00'));
  });

  it('refuses a count that is zero, negative or fractional', () => {
    const start = utc('2026-04-02T08:00');
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => addWorkingDays(start, bad), String(bad)).toThrow(/working days to add must be a whole number/);
    }
  });
});

describe('parsing working-day periods', () => {
  it('reads English and Swedish working-day periods in any case and spacing', () => {
    expect(parseWorkingDays('5 working days')).toBe(5);
    expect(parseWorkingDays('1 working day')).toBe(1);
    expect(parseWorkingDays('3 arbetsdagar')).toBe(3);
    expect(parseWorkingDays('1 arbetsdag')).toBe(1);
    expect(parseWorkingDays('  10   Working   Days ')).toBe(10);
    expect(parseWorkingDays('2ARBETSDAGAR')).toBe(2);
  });

  it('returns undefined for text that is not a positive whole number of working days', () => {
    for (const text of [
      '5 days',
      'working days',
      '2.5 working days',
      '-1 working days',
      '0 working days',
      '5 workingdays',
      '3 arbetsdagarna',
      '',
      '5 working days please',
    ]) {
      expect(parseWorkingDays(text), text).toBeUndefined();
    }
  });
});

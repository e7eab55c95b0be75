import { formatDuration, parseDuration } from '../../../src/config/duration';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30 * SECOND],
    ['2m', 2 * MINUTE],
    ['1h', HOUR],
    ['7d', 7 * DAY],
    ['1w', 7 * DAY],
    ['0s', 0],
    ['1h30m', HOUR + 30 * MINUTE],
    ['1w2d3h4m5s6ms', 9 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND + 6],
    ['90m', 90 * MINUTE],
  ])('reads %s as %d milliseconds', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['a bare number', '30'],
    ['a bare zero', '0'],
    ['an unknown unit', '30x'],
    ['units out of order', '30m1h'],
    ['a repeated unit', '1h1h'],
    ['a fraction', '1.5h'],
    ['a negative duration', '-1s'],
    ['an upper-case unit', '30S'],
    ['surrounding spaces', ' 30s'],
    ['the empty string', ''],
    ['a year, which has no fixed length', '1y'],
    ['a value too large to count in milliseconds', '99999999999999w'],
  ])('rejects %s', (_what, text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [30 * SECOND, '30s'],
    [HOUR + 30 * MINUTE, '1h30m'],
    [7 * DAY, '1w'],
    [DAY + HOUR + MINUTE + SECOND + 1, '1d1h1m1s1ms'],
    [-30 * SECOND, '-30s'],
    [1.6, '2ms'],
  ])('writes %d milliseconds as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('writes what parseDuration reads back to the same milliseconds', () => {
    const samples = [1, 999, 61 * SECOND, 25 * HOUR, 30 * DAY, 123_456_789];
    expect(samples.map((ms) => parseDuration(formatDuration(ms)))).toEqual(samples);
  });
});

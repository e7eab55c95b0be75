import { closestMatch, editDistance } from '../../../src/config/similar';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect([
      editDistance('', 'abc'),
      editDistance('interval', 'intervall'),
      editDistance('kitten', 'sitting'),
    ]).toEqual([3, 1, 3]);
  });
});

describe('closestMatch', () => {
  const keys = ['POLL_INTERVAL', 'POLL_RATE_WINDOW', 'PROMETHEUS_BEARER_TOKEN_FILE', 'SERVER_PORT'];

  it('finds the key a typo most likely meant', () => {
    expect([closestMatch('POLL_INTERVALL', keys), closestMatch('poll_interval', keys)]).toEqual([
      'POLL_INTERVAL',
      'POLL_INTERVAL',
    ]);
  });

  it('finds nothing for a name unlike every key', () => {
    expect(closestMatch('BANANA', keys)).toBeUndefined();
  });
});

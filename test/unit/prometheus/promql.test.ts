import {
  escapeLabelValue,
  isValidLabelName,
  matchAny,
  matcher,
  quoteRegex,
  regexAlternation,
  selector,
} from '../../../src/signals/promql';

describe('escapeLabelValue', () => {
  it('leaves ordinary label values as they are', () => {
    expect(escapeLabelValue('spiffe://cluster.local/ns/shop/sa/checkout')).toBe(
      'spiffe://cluster.local/ns/shop/sa/checkout',
    );
  });

  it('escapes backslashes, double quotes and control characters a string literal cannot hold raw', () => {
    expect(escapeLabelValue('a\\b"c\nd\re\tf')).toBe('a\\\\b\\"c\\nd\\re\\tf');
  });

  it('keeps a "} injection inside the string literal', () => {
    const hostile = 'x"} or vector(1) or up{a="';
    expect(`{l="${escapeLabelValue(hostile)}"}`).toBe('{l="x\\"} or vector(1) or up{a=\\""}');
  });

  it('cannot be escaped out of with a trailing backslash', () => {
    expect(`"${escapeLabelValue('evil\\')}"`).toBe('"evil\\\\"');
  });

  it('keeps non-ASCII characters', () => {
    expect(escapeLabelValue('café-ü-😀')).toBe('café-ü-😀');
  });
});

describe('quoteRegex', () => {
  it('escapes every RE2 metacharacter as Go regexp.QuoteMeta does', () => {
    expect(quoteRegex('\\.+*?()|[]{}^$')).toBe('\\\\\\.\\+\\*\\?\\(\\)\\|\\[\\]\\{\\}\\^\\$');
  });

  it('leaves other characters alone', () => {
    expect(quoteRegex('checkout-v2_x/y:z')).toBe('checkout-v2_x/y:z');
  });
});

describe('regexAlternation', () => {
  it('joins literal values with | ready to go inside =~"..."', () => {
    expect(regexAlternation(['destination', 'waypoint'])).toBe('destination|waypoint');
  });

  it('escapes regex metacharacters and then the string literal', () => {
    expect(regexAlternation(['a.b', 'c|d', '.*', 'q"}'])).toBe('a\\\\.b|c\\\\|d|\\\\.\\\\*|q\\"\\\\}');
  });

  it('escapes a newline for the string literal', () => {
    expect(regexAlternation(['line\nbreak'])).toBe('line\\nbreak');
  });

  it('matches nothing for an empty list, rather than the empty string', () => {
    expect(regexAlternation([])).toBe('[^\\\\s\\\\S]');
  });
});

describe('matcher', () => {
  it('builds an equality matcher with the value escaped', () => {
    expect(matcher('source_principal', '=', 'spiffe://td/ns/a"b/sa/c\\d')).toBe(
      'source_principal="spiffe://td/ns/a\\"b/sa/c\\\\d"',
    );
  });

  it('builds the other three operators', () => {
    expect([matcher('a', '!=', 'x'), matcher('a', '=~', 'x|y'), matcher('a', '!~', 'x.*')]).toEqual([
      'a!="x"',
      'a=~"x|y"',
      'a!~"x.*"',
    ]);
  });

  it('escapes a raw regex for the string literal, so RE2 escapes survive', () => {
    expect(matcher('a', '=~', quoteRegex('v1.0'))).toBe('a=~"v1\\\\.0"');
  });

  it('refuses a label name that is not PromQL', () => {
    expect(() => matcher('a"} or vector(1) #', '=', 'x')).toThrow(
      new TypeError('invalid label name "a\\"} or vector(1) #": must match [a-zA-Z_][a-zA-Z0-9_]*'),
    );
  });

  it('refuses an operator that is not PromQL', () => {
    expect(() => matcher('a', '==' as never, 'x')).toThrow(
      new TypeError('invalid matcher operator "==": must be one of = != =~ !~'),
    );
  });
});

describe('matchAny', () => {
  it('uses equality for a single value', () => {
    expect(matchAny('reporter', ['destination'])).toBe('reporter="destination"');
  });

  it('uses an escaped alternation for several values', () => {
    expect(matchAny('app', ['a.b', 'c"d'])).toBe('app=~"a\\\\.b|c\\"d"');
  });

  it('matches nothing for no values', () => {
    expect(matchAny('app', [])).toBe('app=~"[^\\\\s\\\\S]"');
  });
});

describe('selector', () => {
  it('joins a metric name and matchers', () => {
    expect(
      selector('istio_requests_total', [matcher('reporter', '=', 'destination'), matcher('a', '!=', '')]),
    ).toBe('istio_requests_total{reporter="destination",a!=""}');
  });

  it('refuses a metric name that is not PromQL', () => {
    expect(() => selector('up or vector(1)', [])).toThrow(
      new TypeError('invalid metric name "up or vector(1)": must match [a-zA-Z_:][a-zA-Z0-9_:]*'),
    );
  });
});

describe('isValidLabelName', () => {
  it('accepts Prometheus label names and refuses the rest', () => {
    expect(['a', '_b', 'c_1', '1c', 'a-b', '', 'a:b'].map(isValidLabelName)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

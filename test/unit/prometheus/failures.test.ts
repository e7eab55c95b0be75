import {
  redactUrl,
  sanitizeCause,
  timeoutFailure,
  transportFailure,
} from '../../../src/adapters/prometheus/failures';
import { PrometheusUnavailable } from '../../../src/errors';

const TOKEN = 'sekrit-token-123';
const url = new URL('http://127.0.0.1:9/');
const noScrub = (text: string): string => text;

/** An error shaped like axios's: it carries the request config, Authorization header included. */
function axiosLike(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message), {
    code,
    cause,
    config: { headers: { Authorization: `Bearer ${TOKEN}` } },
    request: { _header: `POST /api/v1/query HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\n` },
  });
}

const context = { url, query: 'up', scrub: noScrub };

describe('transportFailure', () => {
  it('reports a refused connection as PrometheusUnavailable naming the URL and the cause', () => {
    const error = transportFailure(axiosLike('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'), context);
    expect(error).toBeInstanceOf(PrometheusUnavailable);
    expect({ message: error.message, cause: error.cause }).toEqual({
      message: 'cannot reach Prometheus at http://127.0.0.1:9/: connect ECONNREFUSED 127.0.0.1:9',
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    });
  });

  it('names a certificate problem and the settings to check', () => {
    const error = transportFailure(
      axiosLike('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      { ...context, url: new URL('https://prom.example/') },
    );
    expect(error.message).toBe(
      'cannot reach Prometheus at https://prom.example/: TLS certificate problem: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE); check prometheus.tls.ca_file and prometheus.tls.server_name',
    );
  });

  it("keeps only the reason of OpenSSL's error line", () => {
    const message =
      '800C62DEF97F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n';
    const error = transportFailure(axiosLike(message, 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), {
      ...context,
      url: new URL('https://prom.example/'),
    });
    expect(error.message).toBe(
      'cannot reach Prometheus at https://prom.example/: TLS handshake failed: sslv3 alert bad certificate (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE); check prometheus.tls (client certificate, https on the port)',
    );
  });

  it('spells out the errors of a failed dual-stack connect, whose own message is empty', () => {
    const aggregate = Object.assign(
      new AggregateError([
        new Error('connect ECONNREFUSED ::1:9'),
        new Error('connect ECONNREFUSED 127.0.0.1:9'),
      ]),
      { code: 'ECONNREFUSED' },
    );
    const error = transportFailure(axiosLike('', 'ECONNREFUSED', aggregate), {
      ...context,
      url: new URL('http://localhost:9/'),
    });
    expect(error.message).toBe(
      'cannot reach Prometheus at http://localhost:9/: connect ECONNREFUSED ::1:9; connect ECONNREFUSED 127.0.0.1:9',
    );
  });

  it('keeps the credentials of the wrapped error out of the message, the cause and their JSON', () => {
    const error = transportFailure(axiosLike('socket hang up', 'ECONNRESET'), context);
    const serialized = [
      error.message,
      JSON.stringify(error),
      JSON.stringify(error.cause),
      String(error.cause),
    ];
    expect(serialized.filter((text) => text.includes(TOKEN))).toEqual([]);
    expect(Object.keys(error.cause as object)).toEqual(['code']);
  });

  it('scrubs secrets that the cause message itself echoes', () => {
    const scrub = (text: string): string => text.split(TOKEN).join('<redacted>');
    const error = transportFailure(axiosLike(`bad header Bearer ${TOKEN}`, 'ERR_X'), { ...context, scrub });
    expect(error.message).toBe(
      'cannot reach Prometheus at http://127.0.0.1:9/: bad header Bearer <redacted>',
    );
  });
});

describe('timeoutFailure', () => {
  it('reports the deadline and the query as PrometheusUnavailable', () => {
    const error = timeoutFailure({ url, query: 'up', timeoutMs: 250 });
    expect({
      name: error.name,
      code: error.code,
      message: error.message,
      url: error.url,
      query: error.query,
    }).toEqual({
      name: 'PrometheusUnavailable',
      code: 'MW_ERR_PROMETHEUS_UNAVAILABLE',
      message:
        'cannot reach Prometheus at http://127.0.0.1:9/: no complete answer within 250 ms (prometheus.timeout) for query "up"',
      url: 'http://127.0.0.1:9/',
      query: 'up',
    });
  });
});

describe('redactUrl', () => {
  it('replaces a password in the URL as Go does, and leaves other URLs alone', () => {
    expect([
      redactUrl(new URL('https://u:p@thanos.example/prefix/')),
      redactUrl(new URL('http://h/x?y=1')),
    ]).toEqual(['https://u:xxxxx@thanos.example/prefix/', 'http://h/x?y=1']);
  });
});

describe('sanitizeCause', () => {
  it('keeps only the message and the code', () => {
    const cause = sanitizeCause(axiosLike('read ECONNRESET', 'ECONNRESET'), noScrub);
    expect({ ...cause, message: cause.message, name: cause.name }).toEqual({
      code: 'ECONNRESET',
      message: 'read ECONNRESET',
      name: 'Error',
    });
  });
});

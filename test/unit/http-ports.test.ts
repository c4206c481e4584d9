import { describe, expect, it } from 'vitest';
import { readEnv } from '../../config/env.js';
import { ingestHttpPort, notifyHttpPort } from '../../config/http-ports.js';
import { checkServiceEnv } from '../../cli/service-env.js';

/** Issue 15 item 6: one environment for every service on a host, each on its own port. */
function warnings(): { log: { warn(obj: object, msg: string): void }; seen: string[] } {
  const seen: string[] = [];
  return {
    log: {
      warn: (_o, msg) => {
        seen.push(msg);
      },
    },
    seen,
  };
}

describe('per-service HTTP ports', () => {
  it('the ingest takes INGEST_HTTP_PORT before the deprecated HTTP_PORT, and the configured port (9464) when neither is set', () => {
    const w = warnings();
    expect(ingestHttpPort(readEnv({ INGEST_HTTP_PORT: '9500', HTTP_PORT: '9600' }), 9464, w.log)).toBe(9500);
    expect(w.seen).toEqual([]);
    expect(ingestHttpPort(readEnv({}), 9464, w.log)).toBe(9464);
    expect(w.seen).toEqual([]);
  });

  it('the ingest still honours HTTP_PORT alone, with a warning naming INGEST_HTTP_PORT', () => {
    const w = warnings();
    expect(ingestHttpPort(readEnv({ HTTP_PORT: '9600' }), 9464, w.log)).toBe(9600);
    expect(w.seen).toHaveLength(1);
    expect(w.seen[0]).toMatch(/HTTP_PORT is deprecated.*INGEST_HTTP_PORT/);
  });

  it("the notify worker never takes HTTP_PORT (the ingest's), so one environment serves both without EADDRINUSE", () => {
    const w = warnings();
    const env = readEnv({ HTTP_PORT: '9464' });
    expect(notifyHttpPort(env, w.log)).toBeUndefined();
    expect(w.seen[0]).toMatch(/NOTIFY_HTTP_PORT/);
    const shared = readEnv({ INGEST_HTTP_PORT: '9464', NOTIFY_HTTP_PORT: '9465' });
    expect(ingestHttpPort(shared, 9464)).toBe(9464);
    expect(notifyHttpPort(shared)).toBe(9465);
  });

  it.each([
    ['INGEST_HTTP_PORT', 'ingest'],
    ['NOTIFY_HTTP_PORT', 'notify'],
  ] as const)('`tuojiang config check` refuses a malformed %s for the %s', (key, service) => {
    for (const value of ['eighty', '70000', '-1']) {
      const r = checkServiceEnv(service, { [key]: value, ACK_SECRET: 'a-secret-of-16-chars-or-more' });
      expect(r.starts).toBe(false);
      expect(r.problems.join('\n')).toContain(`${key}: expected`);
      expect(r.problems.join('\n')).toContain(JSON.stringify(value));
    }
  });
});

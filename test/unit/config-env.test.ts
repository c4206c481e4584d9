import { describe, expect, it } from 'vitest';
import { readEnv } from '../../config/env.js';
import { TuojiangError } from '../../lib/errors.js';

function envError(env: NodeJS.ProcessEnv): TuojiangError {
  try {
    readEnv(env);
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw e;
  }
  throw new Error('expected the environment to be refused');
}

describe('readEnv', () => {
  it('defaults to local services', () => {
    expect(readEnv({})).toMatchObject({
      MQTT_URL: 'mqtt://127.0.0.1:1884',
      HTTP_HOST: '127.0.0.1',
      REDIS_URL: 'redis://127.0.0.1:6379',
      INFLUX_URL: 'http://127.0.0.1:8086',
      INFLUX_DB: 'tuojiang',
    });
  });

  it('reads endpoints, credentials and the port', () => {
    const env = readEnv({
      MQTT_URL: 'mqtts://broker.example:8883',
      MQTT_USERNAME: 'ingest',
      MQTT_PASSWORD: 'pw',
      REDIS_URL: 'rediss://:secret@redis.example:6380/2',
      INFLUX_URL: 'https://influx.example',
      INFLUX_DB: 'tj_2',
      INFLUX_TOKEN: 'tok',
      TUOJIANG_INSTANCE: 'node-1',
      HTTP_PORT: '9465',
    });
    expect(env).toMatchObject({
      MQTT_URL: 'mqtts://broker.example:8883',
      REDIS_URL: 'rediss://:secret@redis.example:6380/2',
      HTTP_PORT: 9465,
      INFLUX_TOKEN: 'tok',
    });
  });

  it('ignores unrelated variables', () => {
    expect(() => readEnv({ PATH: '/bin', HOME: '/root' })).not.toThrow();
  });

  it.each([
    ['MQTT_URL', 'http://broker:1883', 'mqtt:// or mqtts:// or ws:// or wss:// or tcp://'],
    ['MQTT_URL', 'broker:1883', 'mqtt://'],
    ['REDIS_URL', 'localhost:6379', 'redis:// or rediss://'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'redis:// or rediss://'],
    ['INFLUX_URL', 'influx:8086', 'http:// or https://'],
    ['INFLUX_URL', 'not a url', 'http:// or https://'],
  ])('refuses %s=%s, naming the variable, what was expected and what was found', (key, value, expected) => {
    const e = envError({ [key]: value });
    expect(e.code).toBe('TJ_ENV_INVALID');
    expect(e.message).toContain(`${key}: expected a URL with scheme ${expected}`);
    expect(e.message).toContain(`found ${JSON.stringify(value)}`);
  });

  it.each([
    ['INFLUX_DB', 'my db;drop'],
    ['TUOJIANG_INSTANCE', 'host/with/slashes'],
    ['HTTP_PORT', '70000'],
    ['HTTP_PORT', 'eighty'],
    ['MQTT_USERNAME', ''],
  ])('refuses %s=%s', (key, value) => {
    const e = envError({ [key]: value });
    expect(e.message).toContain(`${key}: expected`);
    expect(e.message).toContain(`found ${JSON.stringify(value)}`);
  });

  it('lists every invalid variable', () => {
    const e = envError({ MQTT_URL: 'x', REDIS_URL: 'y', INFLUX_URL: 'z' });
    expect(
      e.message
        .split('\n')
        .slice(1)
        .map((l) => l.split(':')[0])
        .sort(),
    ).toEqual(['INFLUX_URL', 'MQTT_URL', 'REDIS_URL']);
  });

  it('never echoes a token or password variable', () => {
    const e = envError({ INFLUX_TOKEN: '', MQTT_URL: 'bad' });
    expect(e.message).toMatch(/^INFLUX_TOKEN: expected .*; found \(hidden\)$/m);
  });

  it.each([
    ['REDIS_URL', 'http://:s3cr3t-pw@127.0.0.1:6379', 'http://(hidden)@127.0.0.1:6379'],
    ['REDIS_URL', 'redis//default:s3cr3t-pw@127.0.0.1:6379', '(hidden)@127.0.0.1:6379'],
    ['MQTT_URL', 'http://ingest:s3cr3t-pw@broker:1883', 'http://(hidden)@broker:1883'],
    ['INFLUX_URL', 'influx://admin:s3cr3t-pw@influx:8086/x@y', 'influx://(hidden)@y'],
    ['INFLUX_URL', 'ftp://admin:s3cr3t/pw@influx:8086', 'ftp://(hidden)@influx:8086'],
  ])('never echoes the password inside an invalid %s', (key, value, shown) => {
    const e = envError({ [key]: value });
    expect(e.message).not.toContain('s3cr3t');
    expect(e.message).toContain(`found ${JSON.stringify(shown)}`);
  });
});

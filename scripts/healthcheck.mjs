#!/usr/bin/env node
// Container health check for the tuojiang services (the runtime image has no curl or redis-cli):
//
//   node scripts/healthcheck.mjs http://127.0.0.1:9464/healthz   GET, healthy on a 2xx answer
//   node scripts/healthcheck.mjs redis://:password@redis:6379    AUTH (when the URL has a password), PING -> PONG
//   node scripts/healthcheck.mjs tcp://mosquitto:1883            a TCP connection is accepted
//
// Exit 0 when healthy, 1 otherwise with one line on stderr (docker keeps it in the health log).
// A URL argument of the form $NAME is read from that environment variable, so a password-bearing URL
// need not appear in the compose file's healthcheck command.
/* global fetch, AbortSignal, URL */
import { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const TIMEOUT_MS = Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 4000);

function fail(message) {
  process.stderr.write(`unhealthy: ${message}\n`);
  process.exit(1);
}

function ok(message) {
  process.stdout.write(`healthy: ${message}\n`);
  process.exit(0);
}

async function checkHttp(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status < 200 || res.status > 299) fail(`${url.pathname} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  ok(`${url.pathname} answered ${res.status}`);
}

function openSocket(url, defaultPort) {
  const socket = connect({ host: url.hostname, port: Number(url.port || defaultPort) });
  socket.setTimeout(TIMEOUT_MS, () => fail(`no answer from ${url.host} within ${TIMEOUT_MS} ms`));
  socket.once('error', (e) => fail(`${url.host}: ${e.message}`));
  return socket;
}

/** RESP array of bulk strings: what redis-cli sends. */
function respCommand(...args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function checkRedis(url) {
  const socket = openSocket(url, 6379);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  let expected = 1;
  let received = '';
  socket.once('connect', () => {
    if (password) {
      socket.write(username ? respCommand('AUTH', username, password) : respCommand('AUTH', password));
      expected = 2;
    }
    socket.write(respCommand('PING'));
  });
  socket.on('data', (chunk) => {
    received += chunk.toString('utf8');
    const lines = received.split('\r\n').filter((l) => l.length > 0);
    const error = lines.find((l) => l.startsWith('-'));
    if (error) fail(`redis ${url.host} answered ${error.slice(1)}`);
    if (lines.length >= expected) {
      socket.destroy();
      if (lines[expected - 1] === '+PONG') ok(`redis ${url.host} answered PONG`);
      fail(`redis ${url.host} answered ${lines.join(' ')}`);
    }
  });
}

function checkTcp(url) {
  const socket = openSocket(url, 0);
  socket.once('connect', () => {
    socket.destroy();
    ok(`${url.host} accepts connections`);
  });
}

const arg = process.argv[2];
if (!arg) fail('usage: healthcheck.mjs <http(s)://…|redis://…|tcp://host:port|$ENV_NAME>');
const text = arg.startsWith('$') ? process.env[arg.slice(1)] : arg;
if (!text) fail(`${arg} is not set`);
let url;
try {
  url = new URL(text);
} catch {
  fail(`not a URL: ${arg.startsWith('$') ? arg : text}`);
}
setTimeout(() => fail(`no verdict within ${TIMEOUT_MS} ms`), TIMEOUT_MS + 500).unref();
switch (url.protocol) {
  case 'http:':
  case 'https:':
    checkHttp(url).catch((e) => fail(`${url.pathname}: ${e.message}`));
    break;
  case 'redis:':
    checkRedis(url);
    break;
  case 'tcp:':
    checkTcp(url);
    break;
  default:
    fail(`unsupported scheme ${url.protocol}`);
}

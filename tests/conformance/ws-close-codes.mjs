// graphql-transport-ws conformance: every close code of the protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md), provoked against a live Contato
// with the graphql-ws client where it can provoke the code, and with a raw `ws` socket where the
// client never misbehaves that way (it always offers the subprotocol, never subscribes before the
// ack, never sends a second connection_init or a malformed message).
//
//   node ws-close-codes.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per check; exits 1 if any check fails, 2 on a usage or login error.
// 4408 waits for the server's WS_INIT_TIMEOUT_SECONDS (at most 20 s here).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const PROTOCOL = 'graphql-transport-ws';
const SUBSCRIPTION = 'subscription { ticketUpdates { __typename } }';

const given = process.argv[2];
if (!given) {
  console.error('usage: node ws-close-codes.mjs <graphql url (http or ws)>');
  process.exit(2);
}
const httpUrl = given.replace(/^ws/, 'http');
const wsUrl = given.replace(/^http/, 'ws');

async function login() {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query:
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) ' +
        '{ ... on LoginPayload { token } ... on LoginError { code message } } }',
      variables: { e: 'admin@contato.dev', p: 'contato-demo' },
    }),
  });
  const body = await response.json();
  const token = body?.data?.login?.token;
  if (!token) throw new Error(`login failed (${response.status}): ${JSON.stringify(body)}`);
  return token;
}

// dispose() waits for a pending connection, which rejects when the server closed it.
const dispose = (client) => Promise.resolve(client.dispose()).catch(() => {});

const describe = (event) =>
  event && typeof event.code === 'number'
    ? `close ${event.code} ${JSON.stringify(String(event.reason ?? ''))}`
    : `${event instanceof Error ? event.message : JSON.stringify(event)}`;

// Subscribes with the graphql-ws client (no retries) and settles with how the socket ended.
function clientCheck({ connectionParams, generateID, operations, timeoutMs = 10_000 }) {
  return new Promise((resolve) => {
    let settled = false;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams,
      generateID,
      retryAttempts: 0,
      lazy: true,
      onNonLazyError: () => {},
      on: {
        closed: (event) => finish({ closed: event }),
      },
    });
    const timer = setTimeout(() => finish({ timeout: true }), timeoutMs);
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      dispose(client);
      resolve(outcome);
    };
    for (const query of operations) {
      client.subscribe({ query }, { next: () => {}, error: () => {}, complete: () => {} });
    }
  });
}

// A raw socket: sends `frames` once open (a function frame gets the socket and the messages so
// far, and may wait), settles when the server closes it. `protocols: []` offers no subprotocol.
function rawCheck({ protocols = [PROTOCOL], frames = [], timeoutMs = 10_000 }) {
  return new Promise((resolve) => {
    const socket = protocols.length ? new WebSocket(wsUrl, protocols) : new WebSocket(wsUrl);
    const received = [];
    const timer = setTimeout(() => {
      socket.terminate();
      resolve({ timeout: true, received });
    }, timeoutMs);
    socket.on('open', async () => {
      try {
        for (const frame of frames) {
          if (typeof frame === 'function') await frame(socket, received);
          else socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
        }
      } catch (error) {
        clearTimeout(timer);
        socket.terminate();
        resolve({ error, received });
      }
    });
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ closed: { code, reason: String(reason) }, received });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      resolve({ error, received });
    });
  });
}

const waitFor = (type) => (socket, received) =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (received.some((message) => message.type === type)) return resolve();
      if (Date.now() - started > 5_000) return reject(new Error(`no ${type}`));
      setTimeout(poll, 10);
    };
    poll();
  });

const token = await login().catch((error) => {
  console.error(error.message);
  process.exit(2);
});
const init = (payload = { authToken: token }) => ({ type: 'connection_init', payload });

const checks = [
  // The happy path first: the client is acknowledged and an operation completes over the socket.
  {
    code: 'ack',
    what: 'graphql-ws client with a valid token: acknowledged, query answered, then completed',
    run: () =>
      new Promise((resolve) => {
        const client = createClient({
          url: wsUrl,
          webSocketImpl: WebSocket,
          connectionParams: { authToken: token },
          retryAttempts: 0,
        });
        const results = [];
        const timer = setTimeout(() => resolve('timed out'), 10_000);
        client.subscribe(
          { query: '{ me { email } }' },
          {
            next: (value) => results.push(value),
            error: (error) => {
              clearTimeout(timer);
              dispose(client);
              resolve(describe(error));
            },
            complete: () => {
              clearTimeout(timer);
              dispose(client);
              const email = results[0]?.data?.me?.email;
              resolve(email === 'admin@contato.dev' ? null : `unexpected result ${JSON.stringify(results)}`);
            },
          },
        );
      }),
  },
  {
    code: 4400,
    what: 'graphql-ws client subscribing with a syntax error',
    client: { connectionParams: { authToken: token }, operations: ['subscription {'] },
  },
  { code: 4400, what: 'raw: a text frame that is not JSON', raw: { frames: [init(), waitFor('connection_ack'), '{nope'] } },
  { code: 4400, what: 'raw: a JSON message that is not an object', raw: { frames: [init(), waitFor('connection_ack'), '[]'] } },
  { code: 4400, what: 'raw: a binary frame', raw: { frames: [init(), waitFor('connection_ack'), Buffer.from('{"type":"ping"}')] } },
  { code: 4400, what: 'raw: a message without a type', raw: { frames: [init(), waitFor('connection_ack'), {}] } },
  {
    code: 4400,
    what: 'raw: an unknown type 300 characters long (the close reason is clipped, not refused)',
    raw: { frames: [init(), waitFor('connection_ack'), { type: 'x'.repeat(300) }] },
  },
  {
    code: 4400,
    what: 'raw: subscribe with a numeric id',
    raw: { frames: [init(), waitFor('connection_ack'), { type: 'subscribe', id: 1, payload: { query: '{ __typename }' } }] },
  },
  {
    code: 4400,
    what: 'raw: subscribe without a query',
    raw: { frames: [init(), waitFor('connection_ack'), { type: 'subscribe', id: '1', payload: {} }] },
  },
  {
    code: 4400,
    what: 'raw: subscribe with string variables',
    raw: { frames: [init(), waitFor('connection_ack'), { type: 'subscribe', id: '1', payload: { query: '{ __typename }', variables: 'x' } }] },
  },
  { code: 4400, what: 'raw: connection_init with a string payload', raw: { frames: [init('x')] } },
  {
    code: 4401,
    what: 'raw: subscribe before connection_init',
    raw: { frames: [{ type: 'subscribe', id: '1', payload: { query: SUBSCRIPTION } }] },
  },
  {
    code: 4403,
    what: 'graphql-ws client with a bad token',
    client: { connectionParams: { authToken: 'garbage' }, operations: [SUBSCRIPTION] },
  },
  {
    code: 4403,
    what: 'graphql-ws client without connection params',
    client: { operations: [SUBSCRIPTION] },
  },
  { code: 4403, what: 'raw: connection_init with a null payload (allowed, but no token)', raw: { frames: [init(null)] } },
  { code: 4406, what: 'raw: no subprotocol offered', raw: { protocols: [] } },
  {
    code: 4408,
    what: 'graphql-ws client whose connection params never arrive (no connection_init sent)',
    client: { connectionParams: () => new Promise(() => {}), operations: [SUBSCRIPTION], timeoutMs: 20_000 },
  },
  { code: 4408, what: 'raw: no connection_init at all', raw: { frames: [], timeoutMs: 20_000 } },
  {
    code: 4409,
    what: 'graphql-ws client reusing an operation id for a second subscription',
    client: { connectionParams: { authToken: token }, generateID: () => 'same-id', operations: [SUBSCRIPTION, SUBSCRIPTION] },
  },
  {
    code: 4409,
    what: 'raw: a second subscribe with the id of a running one (a 300-character id)',
    raw: {
      frames: [
        init(),
        waitFor('connection_ack'),
        { type: 'subscribe', id: 'i'.repeat(300), payload: { query: SUBSCRIPTION } },
        { type: 'subscribe', id: 'i'.repeat(300), payload: { query: SUBSCRIPTION } },
      ],
    },
  },
  { code: 4429, what: 'raw: a second connection_init after the ack', raw: { frames: [init(), waitFor('connection_ack'), init()] } },
  { code: 4429, what: 'raw: two connection_init at once', raw: { frames: [init(), init()] } },
];

// The checks run concurrently (4408 waits on the server's timer); results print in order.
const outcomes = await Promise.all(
  checks.map(async (check) => {
    if (check.run) return check.run();
    const outcome = check.client ? await clientCheck(check.client) : await rawCheck(check.raw);
    if (outcome.closed?.code === check.code) return null;
    if (outcome.timeout) return `no close within the time limit${outcome.received ? `; got ${JSON.stringify(outcome.received)}` : ''}`;
    return outcome.closed ? describe(outcome.closed) : describe(outcome.error);
  }),
);

let failures = 0;
checks.forEach((check, index) => {
  const problem = outcomes[index];
  if (problem) failures += 1;
  console.log(`${problem ? 'FAIL' : 'ok  '} ${String(check.code).padEnd(4)} ${check.what}${problem ? `: got ${problem}` : ''}`);
});
console.log(`\n${checks.length - failures} of ${checks.length} checks pass`);
process.exit(failures ? 1 : 0);

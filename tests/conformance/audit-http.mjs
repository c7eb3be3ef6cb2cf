// GraphQL over HTTP conformance: graphql-http's server audits (MUST, SHOULD and MAY) against a live
// Contato, logged in, plus Contato's own status codes (405, 415, 413, 406, 401).
//
//   node audit-http.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit; exits 1 on any failing audit of any level, 2 on a usage or login error.
import http from 'node:http';
import https from 'node:https';
import { serverAudits } from 'graphql-http';

const JSON_MAX_BYTES = 1024 * 1024; // contato/graphql_view.py

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit-http.mjs <graphql url>');
  process.exit(2);
}

async function login() {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query:
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) ' +
        '{ ... on LoginPayload { token } ... on LoginError { code message } } }',
      variables: { e: 'admin@contato.dev', p: 'contato-demo' },
    }),
  });
  const body = await response.json();
  const token = body?.data?.login?.token;
  if (!token) {
    throw new Error(`login failed (${response.status}): ${JSON.stringify(body)}`);
  }
  return token;
}

// Every operation but `login` needs a token: the audits' requests carry it.
function authenticatedFetch(token) {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

// A POST declaring a body over the 1 MiB cap, of which only the start is sent: the server must
// answer 413 from the declared length, without waiting for (or reading) the rest. (Sending the
// whole body races the server closing the connection: undici in node 18 then fails with EPIPE.)
function declaredTooLarge(token) {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${token}`,
        'content-length': String(JSON_MAX_BYTES + 1),
      },
    });
    request.on('response', (response) => {
      response.resume();
      request.destroy();
      resolve({ status: response.statusCode, headers: new Headers(response.headers) });
    });
    request.on('error', reject);
    request.write('{"query": "{ __typename }", "padding": "');
  });
}

// What the graphql-http audits do not check but the spec and Contato's README promise.
function contatoAudits(fetchFn, token) {
  const check = (id, name, fn) => ({
    id,
    name,
    fn: async () => {
      const reason = await fn();
      if (!reason) return { id, name, status: 'ok' };
      return { id, name, status: name.startsWith('MUST') ? 'error' : 'warn', reason };
    },
  });
  const expectStatus = (response, status, header) => {
    if (response.status !== status) return `Response status code is ${response.status}, not ${status}`;
    if (header && !(response.headers.get(header[0]) ?? '').includes(header[1])) {
      return `Response header ${header[0]} is ${JSON.stringify(response.headers.get(header[0]))}, expected ${header[1]}`;
    }
    return null;
  };
  const post = (headers, body = JSON.stringify({ query: '{ __typename }' })) =>
    fetchFn(url, { method: 'POST', headers, body });
  return [
    check('C405', 'MUST use 405 (Allow: POST) for a mutation over GET', async () => {
      const target = new URL(url);
      target.searchParams.set('query', 'mutation { __typename }');
      const response = await fetchFn(target.toString(), { headers: { accept: 'application/graphql-response+json' } });
      return expectStatus(response, 405, ['allow', 'POST']);
    }),
    check('C415', 'MUST use 415 for an unsupported request content type (text/plain)', async () =>
      expectStatus(await post({ 'content-type': 'text/plain', accept: 'application/graphql-response+json' }), 415),
    ),
    check('C416', 'MUST use 415 for a form-encoded POST', async () =>
      expectStatus(
        await post({ 'content-type': 'application/x-www-form-urlencoded' }, 'query=%7B+__typename+%7D'),
        415,
      ),
    ),
    check('C413', 'MUST use 413 for a JSON body declared over 1 MiB', async () =>
      expectStatus(await declaredTooLarge(token), 413, ['content-type', 'application/graphql-response+json']),
    ),
    check('C406', 'SHOULD use 406 when Accept allows neither JSON media type', async () =>
      expectStatus(await post({ 'content-type': 'application/json', accept: 'text/html' }), 406),
    ),
    check('C401', 'SHOULD use 401 (graphql-response+json, no data) for a request without a token', async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      const problem = expectStatus(response, 401, ['content-type', 'application/graphql-response+json']);
      if (problem) return problem;
      const body = await response.json();
      return 'data' in body ? `Response body has a data entry: ${JSON.stringify(body)}` : null;
    }),
    check('C200', 'MUST keep 200 and data: null for a request without a token when accepting application/json', async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      const problem = expectStatus(response, 200, ['content-type', 'application/json']);
      if (problem) return problem;
      const body = await response.json();
      return body.data === null && body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED'
        ? null
        : `Unexpected body ${JSON.stringify(body)}`;
    }),
  ];
}

const token = await login().catch((error) => {
  console.error(error.message);
  process.exit(2);
});
const fetchFn = authenticatedFetch(token);
const audits = [...serverAudits({ url, fetchFn }), ...contatoAudits(fetchFn, token)];

let failures = 0;
for (const { fn } of audits) {
  const result = await fn();
  if (result.status === 'ok') {
    console.log(`ok      ${result.id} ${result.name}`);
    continue;
  }
  failures += 1;
  let body = '';
  if (result.response) {
    body = ` [${result.response.status}] ${(await result.response.text().catch(() => '')).slice(0, 300)}`;
  }
  console.log(`${result.status.padEnd(7)} ${result.id} ${result.name}: ${result.reason}${body}`);
}
console.log(`\n${audits.length - failures} of ${audits.length} audits pass`);
process.exit(failures ? 1 : 0);

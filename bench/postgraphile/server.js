// PostGraphile 4.14 on Contato's own tables: the second peer of bench/side_by_side.py (issue 14).
//
// One Node process, PostGraphile's production settings (no GraphiQL, no query log, no watch), a pg
// pool of Tortoise's size (5), on the same database Contato serves. What it needs beyond the tables
// is in schema.sql (the queue order, the ticket list's visibility and the caller check, as SQL
// functions) and below (two foreign keys Contato's tables leave undeclared, as smart tags). The JWT is
// Contato's: HS256 with the same SECRET_KEY, `exp` checked here, the user's `active` and token `ver`
// checked by the SQL functions through the `jwt.claims.*` settings PostGraphile sets per request.
//
//     DATABASE_URL=postgres://… SECRET_KEY=… PORT=8002 node bench/postgraphile/server.js
"use strict";

const http = require("http");
const { Pool } = require("pg");
const { postgraphile } = require("postgraphile");
const { makeJSONPgSmartTagsPlugin } = require("graphile-utils");

const DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"; // Contato's dev default

// campaign_member.last_operation_id and next_callback_id (and ticket.last_message_id, the thread
// summary's) are plain integer columns in Contato's
// schema (the rows point at each other); PostGraphile needs to be told they are foreign keys.
const smartTags = makeJSONPgSmartTagsPlugin({
  version: 1,
  config: {
    class: {
      campaign_member: {
        tags: {
          foreignKey: [
            "(last_operation_id) references operation (id)",
            "(next_callback_id) references callback (id)",
          ],
        },
      },
      ticket: {
        tags: {
          foreignKey: ["(last_message_id) references ticket_message (id)"],
        },
      },
    },
  },
});

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
const middleware = postgraphile(pool, ["public", "bench_pg"], {
  jwtSecret: process.env.SECRET_KEY || DEV_SECRET_KEY,
  jwtVerifyOptions: { algorithms: ["HS256"], audience: "" }, // Contato's tokens carry no audience
  dynamicJson: true, // jsonb as JSON values (Person.phones), as Contato answers them
  appendPlugins: [smartTags],
  disableQueryLog: true,
  retryOnInitFail: false,
  watchPg: false,
  graphiql: false,
  enableCors: false,
  setofFunctionsContainNulls: false,
});

const server = http.createServer((request, response) => {
  if (request.url === "/readyz") {
    middleware.getGraphQLSchema().then(
      () => pool.query("SELECT 1").then(() => {
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end('{"status":"ready"}');
      }),
    ).catch((error) => {
      response.writeHead(503, { "Content-Type": "text/plain" });
      response.end(String(error));
    });
    return;
  }
  middleware(request, response);
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.PORT || 8002), "127.0.0.1");

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    pool.end().finally(() => process.exit(0));
  });
}

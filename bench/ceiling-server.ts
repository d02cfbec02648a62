import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

/**
 * The ceiling of a scenario: bare Fastify answering every request with the exact bytes, status
 * and content type Bazaar answered, from memory. Whatever Bazaar does beyond this costs throughput.
 * Run by the bench harness as its own process: CEILING_BODY_FILE, CEILING_STATUS,
 * CEILING_CONTENT_TYPE, PORT.
 */
const body = readFileSync(process.env.CEILING_BODY_FILE!);
const status = Number(process.env.CEILING_STATUS ?? 200);
const contentType = process.env.CEILING_CONTENT_TYPE ?? 'application/json; charset=utf-8';

const app = Fastify({ logger: false });
app.all('/*', (_request, reply) => reply.code(status).header('content-type', contentType).send(body));
app.get('/__ready', (_request, reply) => reply.send('ok'));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });

import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, requestLoggerFactory } from './logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

describe('request loggers', () => {
  it('write lines at enabled levels with the request id bound and the secrets redacted', () => {
    const { logger, lines } = capture('warn');
    const log = requestLoggerFactory(logger, { request_id: 'req-1' }, {});
    log.info({ route: '/x' }, 'below the level');
    log.warn({ password: 'hunter2', status: 409 }, 'conflict');
    log.error(new Error('boom'), 'failed');
    expect(lines.map((l) => [l.level, l.msg, l.request_id])).toEqual([
      ['warn', 'conflict', 'req-1'],
      ['error', 'failed', 'req-1'],
    ]);
    expect(lines[0]!.password).toBe('[redacted]');
    expect(lines[0]!.status).toBe(409);
    expect((lines[1]!.err as { message: string }).message).toBe('boom');
  });

  it('make no pino child for a request that logs nothing at an enabled level', () => {
    const { logger } = capture('warn');
    const child = vi.spyOn(logger, 'child');
    const log = requestLoggerFactory(logger, { request_id: 'req-2' }, {});
    log.info('not written');
    log.debug('not written');
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(child).not.toHaveBeenCalled();
    log.warn('written');
    log.warn('written again');
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('make children that keep the request id', () => {
    const { logger, lines } = capture('info');
    requestLoggerFactory(logger, { request_id: 'req-3' }, {}).child({ job: 'mail' }).info('nested');
    expect(lines[0]).toMatchObject({ msg: 'nested', request_id: 'req-3', job: 'mail' });
  });

  it("follow a route's own level (Fastify's logLevel) over the server's", () => {
    const { logger, lines } = capture('warn');
    const verbose = requestLoggerFactory(logger, { request_id: 'req-4' }, { level: 'debug' });
    const quiet = requestLoggerFactory(logger, { request_id: 'req-5' }, { level: 'error' });
    const silent = requestLoggerFactory(logger, { request_id: 'req-6' }, { level: 'silent' });
    verbose.debug('route debug');
    verbose.trace('below the route level');
    quiet.warn('below the route level');
    quiet.error('route error');
    silent.fatal('never');
    expect(verbose.level).toBe('debug');
    expect(quiet.isLevelEnabled('warn')).toBe(false);
    expect(lines.map((l) => [l.msg, l.request_id])).toEqual([
      ['route debug', 'req-4'],
      ['route error', 'req-5'],
    ]);
  });
});

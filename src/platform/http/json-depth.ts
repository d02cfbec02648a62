import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/**
 * Whether a JSON text nests objects and arrays deeper than `limit`. A linear scan before parsing:
 * a megabyte of `[` would otherwise cost a deep recursion in the parser and in every validator
 * that walks the result.
 */
export function jsonDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Replaces Fastify's JSON body parser with one that first refuses bodies nested deeper than `limit`. */
export function limitJsonDepth(app: FastifyInstance, limit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDeeperThan(body as string, limit)) {
      done(
        new AppError('VALIDATION_ERROR', `The JSON body is nested deeper than ${limit} levels.`),
        undefined,
      );
      return;
    }
    void parseJson(request, body as string, done);
  });
}

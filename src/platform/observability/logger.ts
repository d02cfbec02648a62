import { pino, type DestinationStream, type Logger } from 'pino';
import { currentTraceId } from './tracing.js';

export type { Logger };

/** Paths that must never reach a log line, whatever the log level. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.refresh_token',
  '*.access_token',
  '*.client_secret',
  '*.token',
  '*.code',
  '*.secret',
  'password',
  'token',
  'secret',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bazaar' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Lines logged inside a traced request or job name its trace.
      mixin: () => {
        const traceId = currentTraceId();
        return traceId ? { trace_id: traceId } : {};
      },
    },
    destination,
  );
}

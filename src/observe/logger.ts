/**
 * The one logger factory: pino, JSON lines, with every place a credential could sit redacted so a
 * token never reaches a log line even when an error object carrying request headers is logged.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths pino blanks out; tokens travel in headers, auth options and clone settings. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'privateKey',
  '*.privateKey',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'request.headers.authorization',
  '*.request.headers.authorization',
  'err.request.headers.authorization',
] as const;

export function createLogger(
  options: { level?: string; name?: string; destination?: DestinationStream } = {},
): Logger {
  const settings = {
    name: options.name ?? 'ai-provision',
    level: options.level ?? 'info',
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

export type { Logger };

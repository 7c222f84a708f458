/** winston JSON logger: one short lowercase message plus structured fields; secrets are scrubbed as a last line of defence. */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggingOptions {
  level: 'error' | 'warn' | 'info' | 'debug' | 'silent';
  file?: string;
}

/** Anything shaped like a gateway key, an OpenAI key or an HF token. */
const SECRET_PATTERN = /\b(sk-sy-[A-Za-z0-9]{6})[A-Za-z0-9]+|\b(sk-(?:proj-)?)[A-Za-z0-9_-]{12,}|\b(hf_)[A-Za-z0-9]{12,}/g;

export function redactSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, (_match, gateway?: string, openai?: string, hf?: string) => `${gateway ?? openai ?? hf}…[redacted]`);
}

const scrub = winston.format((info) => {
  for (const key of ['message', 'error', 'detail'] as const) {
    const value = info[key];
    if (typeof value === 'string') info[key] = redactSecrets(value);
  }
  return info;
});

export function createLogger(options: LoggingOptions): Logger {
  const transports: winston.transport[] = options.file
    ? [new winston.transports.File({ filename: options.file })]
    : [new winston.transports.Console()];
  return winston.createLogger({
    level: options.level === 'silent' ? 'error' : options.level,
    silent: options.level === 'silent',
    format: winston.format.combine(scrub(), winston.format.timestamp(), winston.format.json()),
    transports,
  });
}

/**
 * What the command modules share: argument parsers for commander (they throw InvalidArgumentError,
 * which commander prints with the usage) and the message for settings that are not usable.
 */
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number above 0, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** "error: the <what> settings are not usable:", a problem per line, and where to read more. */
export function unusableSettings(what: string, problems: string[], readmeSection: string): string {
  return `error: the ${what} settings are not usable:\n${problems.map((p) => `  ${p}`).join('\n')}\nSee .env.example and README "${readmeSection}".\n`;
}

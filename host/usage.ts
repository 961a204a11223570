// Errors in how a command was called: exit status 2, with the command's usage.
export class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function positiveNumber(value: string | undefined, option: string, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option}: '${value}' is not a positive number`, usage);
  return n;
}

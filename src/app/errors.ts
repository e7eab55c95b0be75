import { MeshwatchError } from '../errors';

/** The loggable fields of an error: code, message, and the query/status where known; never headers or config. */
export interface DescribedError {
  code: string;
  message: string;
  query?: string;
  status?: number;
}

/** Reduces any thrown value to fields that are safe to log. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof MeshwatchError) {
    const described: DescribedError = { code: err.code, message: err.message };
    if ('query' in err && typeof err.query === 'string') described.query = err.query;
    if ('status' in err && typeof err.status === 'number') described.status = err.status;
    return described;
  }
  if (err instanceof Error) return { code: 'MW_ERR_INTERNAL', message: err.message };
  return { code: 'MW_ERR_INTERNAL', message: String(err) };
}

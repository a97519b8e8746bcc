/** Name rules of the postgresql backend, kept apart so settings checks do not load the PostgreSQL client. */

/** What a PostgreSQL schema name may be (it is quoted as well, but stays a plain identifier). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL with its password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Opens the registration store a configuration asks for. The agent that collects registrations and the local
 * `--dm registration` fast path call this; each backend's client library is loaded only when that backend is
 * used, so a tsco run that needs none pays for none.
 */
import { ConfigError } from '../../errors.js';
import type { ConfigView } from '../../inter/config.js';
import type { RegistrationStore } from '../../inter/registration.js';
import { registrationStoreSettings, type RegistrationStoreSettings } from '../settings.js';

/** What the caller can hear from a store besides its results. */
export interface OpenRegistrationStoreOptions {
  /** directory: an unreadable record file (skipped). */
  onCorrupt?: (path: string, error: Error) => void;
  /** postgresql: an error on an idle connection (the next query reports its own failure). */
  onError?: (error: Error) => void;
  /** Open an existing store only, creating nothing (readers: the local `--dm registration` path). */
  existing?: boolean;
}

/** Opens the store `settings` describe. Rejects with RegistrationStoreError when it cannot be opened. */
export async function openRegistrationStore(settings: RegistrationStoreSettings, options: OpenRegistrationStoreOptions = {}): Promise<RegistrationStore> {
  switch (settings.backend) {
    case 'sqlite': {
      const { SqliteRegistrationStore } = await import('./sqlite.js');
      return SqliteRegistrationStore.open({ path: settings.path, ...(options.existing ? { existing: true } : {}) });
    }
    case 'postgresql': {
      const { PostgresRegistrationStore } = await import('./postgresql.js');
      return PostgresRegistrationStore.open({
        url: settings.url, schema: settings.schema, ...(options.onError ? { onError: options.onError } : {}), ...(options.existing ? { existing: true } : {}),
      });
    }
    case 'directory': {
      const { DirectoryRegistrationStore } = await import('./directory.js');
      return DirectoryRegistrationStore.open({
        dir: settings.dir, ...(options.onCorrupt ? { onCorrupt: options.onCorrupt } : {}), ...(options.existing ? { existing: true } : {}),
      });
    }
  }
}

/**
 * Opens the store `plugin.registration.*` configures. Rejects with ConfigError listing every settings problem,
 * or RegistrationStoreError when the store cannot be opened.
 */
export async function openConfiguredRegistrationStore(config: ConfigView, options: OpenRegistrationStoreOptions = {}): Promise<RegistrationStore> {
  const { settings, problems } = registrationStoreSettings(config);
  if (!settings) throw new ConfigError(problems);
  return openRegistrationStore(settings, options);
}

export { registrationStoreSettings, type RegistrationStoreSettings } from '../settings.js';

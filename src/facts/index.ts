/** Facts and classes of this node, as filters and rpcutil see them. */
import type { ConfigView } from '../inter/config.js';
import type { Counters, Logger } from '../inter/logger.js';
import { mergeFacts, parseClasses, parseYamlFacts, WatchedFile } from './yaml.js';

export { flattenFacts, parseYamlFacts, parseClasses, mergeFacts, WatchedFile } from './yaml.js';

/** The facts and classes of this node, re-read when their files change. */
export class NodeFactSource {
  private readonly factFiles: WatchedFile<Record<string, string>>[];
  private readonly classesFile: WatchedFile<string[]> | undefined;

  constructor(factPaths: readonly string[], classesPath: string | undefined, logger: Logger, counters: Counters) {
    const report = (error: Error): void => {
      counters.increment('facts.errors');
      logger.warn({ err: error }, error.message);
    };
    this.factFiles = factPaths.map((path) => new WatchedFile(path, parseYamlFacts, {}, report));
    this.classesFile = classesPath ? new WatchedFile(classesPath, (text) => parseClasses(text), [], report) : undefined;
  }

  /** Builds the source from `factsource`, `plugin.yaml` (paths separated by `:`) and `classesfile`. */
  static fromConfig(config: ConfigView, logger: Logger, counters: Counters): NodeFactSource {
    const source = config.string('factsource') ?? 'yaml';
    if (source !== 'yaml') logger.warn({ factsource: source }, `factsource ${source} is not supported; only yaml is: no facts`);
    const paths = source === 'yaml' ? (config.raw('plugin.yaml') ?? '').split(':').map((p) => p.trim()).filter((p) => p !== '') : [];
    return new NodeFactSource(paths, config.string('classesfile') || undefined, logger, counters);
  }

  /** Flattened facts (dotted names, string values). */
  facts(): Record<string, string> {
    return mergeFacts(this.factFiles.map((file) => file.get()));
  }

  /** Class names from the classes file. */
  classes(): string[] {
    return this.classesFile?.get() ?? [];
  }

  /** Forces a re-read of every file (SIGHUP). */
  invalidate(): void {
    for (const file of this.factFiles) file.invalidate();
    this.classesFile?.invalidate();
  }
}

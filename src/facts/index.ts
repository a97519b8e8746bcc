/** Facts and classes of this node, as filters and rpcutil see them. */
import type { ConfigView } from '../inter/config.js';
import type { Counters, Logger } from '../inter/logger.js';
import { emptyFacts, mergeFacts, parseClasses, parseYamlFacts, WatchedFile } from './yaml.js';

export { emptyFacts, flattenFacts, parseYamlFacts, parseClasses, mergeFacts, WatchedFile } from './yaml.js';

/**
 * The facts and classes of this node. Facts are re-read at most every `fact_cache_time` seconds
 * (MCollective's cache; 0 checks the files on every use), and then only when a file changed;
 * invalidate() (SIGHUP) forces a re-read.
 */
export class NodeFactSource {
  private readonly factFiles: WatchedFile<Record<string, string>>[];
  private readonly classesFile: WatchedFile<string[]> | undefined;
  private cached: { at: number; facts: Readonly<Record<string, string>>; classes: readonly string[] } | undefined;

  constructor(
    factPaths: readonly string[],
    classesPath: string | undefined,
    logger: Logger,
    counters: Counters,
    private readonly cacheMs = 0,
    private readonly now: () => number = Date.now,
  ) {
    const report = (error: Error): void => {
      counters.increment('facts.errors');
      logger.warn({ err: error }, error.message);
    };
    this.factFiles = factPaths.map((path) => new WatchedFile(path, parseYamlFacts, emptyFacts(), report));
    this.classesFile = classesPath ? new WatchedFile(classesPath, (text) => parseClasses(text), [], report) : undefined;
  }

  /**
   * Builds the source from `plugin.yaml` (paths separated by `:`), `classesfile` and
   * `fact_cache_time`. The daemon refuses any `factsource` other than yaml before this runs.
   */
  static fromConfig(config: ConfigView, logger: Logger, counters: Counters): NodeFactSource {
    const paths = (config.raw('plugin.yaml') ?? '').split(':').map((p) => p.trim()).filter((p) => p !== '');
    const cacheSeconds = Number(config.raw('fact_cache_time') ?? 0);
    return new NodeFactSource(paths, config.string('classesfile') || undefined, logger, counters, Number.isFinite(cacheSeconds) && cacheSeconds > 0 ? cacheSeconds * 1000 : 0);
  }

  private current(): { facts: Readonly<Record<string, string>>; classes: readonly string[] } {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached;
    this.cached = {
      at: now,
      facts: Object.freeze(mergeFacts(this.factFiles.map((file) => file.get()))),
      classes: Object.freeze([...(this.classesFile?.get() ?? [])]),
    };
    return this.cached;
  }

  /** Flattened facts (dotted names, string values); frozen, without a prototype (own entries only). */
  facts(): Readonly<Record<string, string>> {
    return this.current().facts;
  }

  /** Class names from the classes file; frozen. */
  classes(): readonly string[] {
    return this.current().classes;
  }

  /** Forces a re-read of every file on next use (SIGHUP). */
  invalidate(): void {
    this.cached = undefined;
    for (const file of this.factFiles) file.invalidate();
    this.classesFile?.invalidate();
  }
}

// Writes src/agent/ddl-validator.generated.cts from the built generator (npm run gen:ddl-validator builds first).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const { DDL_VALIDATOR_FILE, ddlValidatorSource } = await import(new URL('dist/src/agent/ddl-validator-source.js', root).href);
writeFileSync(fileURLToPath(new URL(DDL_VALIDATOR_FILE, root)), ddlValidatorSource());
console.log(`wrote ${DDL_VALIDATOR_FILE}`);

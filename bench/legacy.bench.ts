/**
 * The protocol version 1 rows (bench/legacy-rows.ts): `npm run bench` runs them with every other bench,
 * `npm run bench:legacy [-- --json] [-- --seconds S]` alone.
 */
import { legacyReport, legacyRows } from './legacy-rows.js';

const args = process.argv.slice(2);
const secondsIndex = args.indexOf('--seconds');
const rows = legacyRows(secondsIndex >= 0 ? Number(args[secondsIndex + 1]) : 0.5, 3);
if (args.includes('--json')) console.log(JSON.stringify(rows));
else console.log(legacyReport(rows).join('\n'));

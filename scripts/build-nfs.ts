// Builds the NF modules that are missing or older than their sources.
import { buildNfs } from '../host/nf/build.js';

try {
  const built = await buildNfs(process.argv.slice(2).length > 0 ? process.argv.slice(2) : undefined);
  if (built.length > 0) console.log(`built nf-modules: ${built.join(', ')}`);
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}

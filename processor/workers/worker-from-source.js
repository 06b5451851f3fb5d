// A worker thread of a processor run from the TypeScript sources on a Node that does not strip
// types (Node 20, or --no-experimental-strip-types): registers tsx in this thread, as
// bin/sluice.js does in the main one, then runs the module given as its argument. `--import tsx`
// in the worker's execArgv would do the same on Node 22 and later but not on Node 20.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);

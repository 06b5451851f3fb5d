// A worker thread of a processor run from the TypeScript sources (a checkout): registers tsx in
// this thread, as bin/sluice.js does in the main one, then runs the module given as its argument.
// `--import tsx` in the worker's execArgv does the same on Node 22 and later but not on Node 20.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);

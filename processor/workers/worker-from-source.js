// A worker thread of a processor run from the TypeScript sources (a checkout): loads the module
// given as its argument as bin/sluice.js loads the main thread's, stripped by Node where it can
// (Node 22.18 and later), else through tsx registered in this thread (Node 20, or
// --no-experimental-strip-types; `--import tsx` in the worker's execArgv does not work on Node 20).
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(process.argv[2]);

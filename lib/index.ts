/**
 * The package's public entry, `import { defineApp, ... } from 'sluice'`: the app DSL (whatever
 * processor/app/define.ts exports) and the window specs it takes. Nothing else is public.
 */
export * from '../processor/app/define.ts';
export type { HoppingSpec, SessionSpec, TumblingSpec, WindowSpec } from '../processor/windows/windows.ts';

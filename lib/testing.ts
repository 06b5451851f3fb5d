/**
 * The package's test entry, `import { createTestDriver } from 'sluice/testing'`: runs an app's
 * pipeline in-process with the processor's own task, store and commit code, without Kafka.
 */
export * from '../processor/testing/test-driver.ts';

/**
 * Window arithmetic on event time (milliseconds). A window is [start, end); it closes when the
 * partition's stream time reaches end + grace, after which records for it are late. Windows start
 * at or after 0 (event times before the epoch are refused as invalid).
 */

export interface Window {
  start: number;
  end: number;
}

export interface TumblingSpec {
  kind: 'tumbling';
  sizeMs: number;
  graceMs: number;
}

export interface HoppingSpec {
  kind: 'hopping';
  sizeMs: number;
  advanceMs: number;
  graceMs: number;
}

export interface SessionSpec {
  kind: 'session';
  /** A session ends after this long without records for its key. */
  gapMs: number;
  graceMs: number;
}

export type WindowSpec = TumblingSpec | HoppingSpec | SessionSpec;

const floorTo = (value: number, step: number) => Math.floor(value / step) * step;

/** The fixed-size windows (tumbling or hopping) that contain `timestamp`, oldest first. */
export function windowsFor(spec: TumblingSpec | HoppingSpec, timestamp: number): Window[] {
  if (spec.kind === 'tumbling') {
    const start = floorTo(timestamp, spec.sizeMs);
    return [{ start, end: start + spec.sizeMs }];
  }
  const windows: Window[] = [];
  const lastStart = floorTo(timestamp, spec.advanceMs);
  for (
    let start = Math.max(0, lastStart - spec.sizeMs + spec.advanceMs);
    start <= lastStart;
    start += spec.advanceMs
  ) {
    if (timestamp < start + spec.sizeMs) windows.push({ start, end: start + spec.sizeMs });
  }
  return windows;
}

/** Stream time at which a fixed-size window closes. */
export function closeTimeOf(spec: TumblingSpec | HoppingSpec, window: Window): number {
  return window.end + spec.graceMs;
}

/** Stream time at which a session [start, end] (end = its last record's time) closes. */
export function sessionCloseTime(spec: SessionSpec, session: Window): number {
  return session.end + spec.gapMs + spec.graceMs;
}

/** True when a window closing at `closeTime` has closed at `streamTime`. */
export function isClosed(closeTime: number, streamTime: number): boolean {
  return streamTime >= closeTime;
}

/**
 * Sessions of one key that a record at `timestamp` joins: every session within `gap` of it.
 * Returns the merged session (covering the record and all of them) and the sessions it replaces.
 */
export function mergeSession<W extends Window>(
  spec: SessionSpec,
  timestamp: number,
  existing: readonly W[],
): { merged: Window; replaced: W[] } {
  const replaced = existing.filter(
    (session) => timestamp >= session.start - spec.gapMs && timestamp <= session.end + spec.gapMs,
  );
  let start = timestamp;
  let end = timestamp;
  for (const session of replaced) {
    start = Math.min(start, session.start);
    end = Math.max(end, session.end);
  }
  return { merged: { start, end }, replaced };
}

/**
 * The windows a record at `timestamp` still counts in at `streamTime`: those not yet closed.
 * Empty means the record is late (it goes to the dead-letter topic).
 */
export function openWindowsFor(
  spec: TumblingSpec | HoppingSpec,
  timestamp: number,
  streamTime: number,
): Window[] {
  return windowsFor(spec, timestamp).filter((window) => !isClosed(closeTimeOf(spec, window), streamTime));
}

/** A record at `timestamp` is too late for any session at `streamTime`. */
export function isLateForSession(spec: SessionSpec, timestamp: number, streamTime: number): boolean {
  return isClosed(timestamp + spec.gapMs + spec.graceMs, streamTime);
}

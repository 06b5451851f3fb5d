/**
 * A task's positions in its inputs: each input resumes at its own committed offset, drops batches
 * fetched before a seek, moves only forward, and a commit sends every input's position at once.
 */
import { describe, expect, it } from 'vitest';
import { InputPositions } from '../../../processor/task/input-positions.ts';

describe('InputPositions', () => {
  it('opens each input at its committed offset and takes only a batch fetched from there', () => {
    const positions = new InputPositions(['web', 'mobile']);
    positions.open(
      new Map([
        ['web', '10'],
        ['mobile', '3'],
      ]),
    );
    expect(positions.seekTarget('web')).toBe('10');
    expect(positions.accepts('web', '7')).toBe(false); // fetched before the seek took effect
    expect(positions.accepts('web', '10')).toBe(true);
    expect(positions.seekTarget('web')).toBeUndefined();
    expect(positions.accepts('web', '42')).toBe(true); // then every batch
    expect(positions.seekTarget('mobile')).toBe('3'); // the other input still waits for its own
    expect(positions.moved()).toBe(false);
  });

  it('moves forward only, and a commit records every input at once', () => {
    const positions = new InputPositions(['web', 'mobile']);
    positions.open(new Map([['web', '10']])); // nothing committed for mobile yet: from 0
    positions.advance('web', '15');
    positions.advance('web', '12');
    expect(positions.position('web')).toBe('15');
    expect(positions.moved()).toBe(true);
    const sent = positions.snapshot();
    expect(sent).toEqual([
      { topic: 'web', offset: '15' },
      { topic: 'mobile', offset: '0' },
    ]);
    positions.advance('mobile', '4'); // while the commit is in flight
    positions.committed(sent);
    expect(positions.moved()).toBe(true);
    positions.committed(positions.snapshot());
    expect(positions.moved()).toBe(false);
  });

  it('skips records retention removed only when it stands at the offset asked for, and refetches from its position', () => {
    const positions = new InputPositions(['web']);
    positions.open(new Map([['web', '5']]));
    expect(positions.skipTo('web', '4', '9')).toBe(0n); // an answer to an older seek
    expect(positions.skipTo('web', '5', '9')).toBe(4n);
    expect(positions.position('web')).toBe('9');
    expect(positions.seekTarget('web')).toBe('9');
    expect(positions.accepts('web', '9')).toBe(true);
    positions.advance('web', '20');
    expect(positions.refetch('web')).toBe('20');
    expect(positions.accepts('web', '18')).toBe(false);
    expect(() => positions.position('other')).toThrow('the task does not read other (its inputs: web)');
  });
});

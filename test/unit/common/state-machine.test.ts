import { describe, expect, it } from 'vitest';
import { createStateMachine, type Transitions } from '../../../common/state-machine.ts';

type Light = 'red' | 'green' | 'amber' | 'off';
const transitions: Transitions<Light> = {
  red: ['green', 'off'],
  green: ['amber', 'off'],
  amber: ['red', 'off'],
  off: [],
};

describe('state machine from a transition table', () => {
  it('moves along listed edges and returns the state it left', () => {
    const light = createStateMachine('light', transitions, 'red');
    expect(light.to('green')).toBe('red');
    expect(light.to('amber')).toBe('green');
    expect(light.state).toBe('amber');
  });

  it('refuses an edge the table does not list, naming the machine and both states, and stays put', () => {
    const light = createStateMachine('light 7', transitions, 'red');
    expect(() => light.to('amber')).toThrow('light 7: illegal transition red → amber');
    expect(light.state).toBe('red');
    light.to('off');
    // a final state has no way out, not even to itself
    expect(() => light.to('off')).toThrow('light 7: illegal transition off → off');
  });
});

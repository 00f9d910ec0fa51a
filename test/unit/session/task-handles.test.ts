import { describe, expect, it } from 'vitest';
import { MAX_UPSTREAM_TASK_ID, TaskHandles } from '../../../src/session/task-handles.js';

describe('task handles', () => {
  const handles = new TaskHandles(Buffer.alloc(32, 7));

  it('open for the principal that created them, to the server and upstream id they name', () => {
    const handle = handles.issue('apikey:alice', 'jobs', 'task/42 é');
    expect(handles.open(handle, 'apikey:alice')).toEqual({ server: 'jobs', upstreamTaskId: 'task/42 é' });
  });

  it('do not open for another principal, another gateway key, or with any part changed', () => {
    const handle = handles.issue('apikey:alice', 'jobs', 'task-1');
    expect(handles.open(handle, 'apikey:bob')).toBeUndefined();
    expect(new TaskHandles(Buffer.alloc(32, 8)).open(handle, 'apikey:alice')).toBeUndefined();
    const [version, server, id, mac] = handle.split('.') as [string, string, string, string];
    for (const changed of [
      `sbt2.${server}.${id}.${mac}`,
      `${version}.jobz.${id}.${mac}`,
      `${version}.${server}.${Buffer.from('task-2').toString('base64url')}.${mac}`,
      `${version}.${server}.${id}.${mac.slice(1)}`,
      `${version}.${server}.${id}=.${mac}`,
      `${handle}.x`,
      'task-1',
    ]) {
      expect(handles.open(changed, 'apikey:alice'), changed).toBeUndefined();
    }
  });

  it('principal and server cannot be shifted into each other', () => {
    // A NUL separates the parts under the MAC: ("a", "b\0c") and ("a\0b", "c") are different inputs.
    const handle = handles.issue('apikey:a', 'b', 'c');
    expect(handles.open(handle, 'apikey:a')).toBeDefined();
    expect(handles.open(handle, 'apikey:a\u0000b')).toBeUndefined();
  });

  it('refuse an upstream id beyond the bound, and an empty one', () => {
    const long = handles.issue('p', 'jobs', 'x'.repeat(MAX_UPSTREAM_TASK_ID + 1));
    expect(handles.open(long, 'p')).toBeUndefined();
    expect(handles.open(handles.issue('p', 'jobs', ''), 'p')).toBeUndefined();
  });
});

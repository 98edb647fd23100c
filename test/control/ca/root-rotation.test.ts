// The phases of a root rotation as time passes (a fake clock: plain numbers).
import { describe, expect, it } from 'vitest';
import { advanceRotation, rotationPhase, trustBundle, type RootRotation } from '../../../control/ca/root-rotation.js';
import type { StoredRoot } from '../../../control/ca/ca-material.js';

const root = (name: string): StoredRoot => ({ certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`, keyPem: name, createdAt: '' });
const OLD = root('old');
const NEW = root('new');

describe('root rotation phases', () => {
  it('trusts the new root first, signs with it after the overlap, retires the old root after the second', () => {
    const started: RootRotation = { pending: NEW, previous: null, switchAt: 1000, retireAt: 2000 };
    expect(rotationPhase(started)).toBe('trusting-new-root');
    expect(trustBundle(OLD, started)).toBe(OLD.certPem + NEW.certPem);
    // Before the switch nothing changes (the same objects: nothing to store).
    const early = advanceRotation(OLD, started, 999);
    expect(early.root).toBe(OLD);
    expect(early.rotation).toBe(started);
    const switched = advanceRotation(OLD, started, 1000);
    expect(switched.root).toBe(NEW);
    expect(rotationPhase(switched.rotation)).toBe('signing-with-new-root');
    expect(trustBundle(switched.root, switched.rotation)).toBe(NEW.certPem + OLD.certPem);
    const retired = advanceRotation(switched.root, switched.rotation, 2000);
    expect(retired).toEqual({ root: NEW, rotation: undefined });
    expect(trustBundle(retired.root, retired.rotation)).toBe(NEW.certPem);
  });

  it('applies both phases at once when the control plane was down through them', () => {
    expect(advanceRotation(OLD, { pending: NEW, previous: null, switchAt: 1000, retireAt: 2000 }, 5000)).toEqual({ root: NEW, rotation: undefined });
    expect(rotationPhase(undefined)).toBe('none');
  });
});

import { createLockTable, lockHeldMessage } from '../../../src/pool/index.js';
import type { LockResult } from '../../../src/pool/index.js';

function acquired(result: LockResult): () => void {
  if (!result.acquired) throw new Error(`expected the lock, but ${result.heldBy} holds it`);
  return result.release;
}

describe('pool/locks', () => {
  it('gives a free lock to the first holder and names it', () => {
    const locks = createLockTable();

    const result = locks.tryLock('acme/shop@main', 'job-a');

    expect(result.acquired).toBe(true);
    expect(locks.holderOf('acme/shop@main')).toBe('job-a');
    expect(locks.holderOf('acme/shop@dev')).toBeUndefined();
  });

  it('answers who holds a taken lock, with a message for the user', () => {
    const locks = createLockTable();
    locks.tryLock('acme/shop@main', 'job-a');

    const result = locks.tryLock('acme/shop@main', 'job-b');

    expect(result).toEqual({
      acquired: false,
      heldBy: 'job-a',
      userMessage:
        'Another sizing for `acme/shop@main` is already running as job `job-a`. This request is queued and will start as soon as that job finishes.',
    });
    expect(locks.holderOf('acme/shop@main')).toBe('job-a');
  });

  it('keeps keys independent', () => {
    const locks = createLockTable();
    locks.tryLock('acme/shop@main', 'job-a');

    const result = locks.tryLock('acme/shop@dev', 'job-b');

    expect(result.acquired).toBe(true);
    expect(locks.holderOf('acme/shop@main')).toBe('job-a');
    expect(locks.holderOf('acme/shop@dev')).toBe('job-b');
  });

  it('lets the holder ask again, and one release frees it', () => {
    const locks = createLockTable();
    acquired(locks.tryLock('k', 'job-a'));

    const again = acquired(locks.tryLock('k', 'job-a'));
    again();

    expect(locks.holderOf('k')).toBeUndefined();
  });

  it('releases idempotently', () => {
    const locks = createLockTable();
    const release = acquired(locks.tryLock('k', 'job-a'));

    release();
    release();

    expect(locks.holderOf('k')).toBeUndefined();
    expect(locks.tryLock('k', 'job-b').acquired).toBe(true);
  });

  it.each<[string, string]>([
    ['another holder', 'job-b'],
    ['the same holder again', 'job-a'],
  ])('ignores an old release once the lock was released and taken by %s', (_name, nextHolder) => {
    const locks = createLockTable();
    const stale = acquired(locks.tryLock('k', 'job-a'));
    stale();
    acquired(locks.tryLock('k', nextHolder));

    stale();

    expect(locks.holderOf('k')).toBe(nextHolder);
  });

  it('keeps backticks in a key or holder from breaking the message’s code spans', () => {
    const message = lockHeldMessage('acme/shop@fix`x', 'job`1');

    expect(message).toBe(
      "Another sizing for `acme/shop@fix'x` is already running as job `job'1`. This request is queued and will start as soon as that job finishes.",
    );
  });
});

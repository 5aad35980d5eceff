/**
 * Locks per key ('owner/repo@branch'), Atlantis style: trying a held lock is not an error but an
 * answer naming the holder and a message the user can be shown. In-memory, per process.
 */
import { renderTemplate } from '../deliver/templates.js';
import { codeSpanText } from '../request/index.js';

export type LockResult =
  | { acquired: true; release: () => void }
  | { acquired: false; heldBy: string; userMessage: string };

export interface LockTable {
  /**
   * Takes the lock for `holder`, or says who holds it. Asking again for a lock the same holder
   * already has succeeds (it is not counted: one release frees it). `release` is idempotent and only
   * frees the lock while it is still this hold: after it was released and taken again, by anyone,
   * an old release does nothing.
   */
  tryLock(key: string, holder: string): LockResult;
  holderOf(key: string): string | undefined;
}

/** One hold; its identity (not the holder's name) is what a release function checks. */
interface Hold {
  holder: string;
}

/** The message shown when `key` is held by job `heldBy`. */
export function lockHeldMessage(key: string, heldBy: string): string {
  return renderTemplate('lock-held', { key: codeSpanText(key), heldBy: codeSpanText(heldBy) });
}

export function createLockTable(): LockTable {
  const holds = new Map<string, Hold>();

  function releaseFor(key: string, hold: Hold): () => void {
    return () => {
      if (holds.get(key) === hold) holds.delete(key);
    };
  }

  return {
    tryLock(key, holder) {
      const current = holds.get(key);
      if (current === undefined) {
        const hold: Hold = { holder };
        holds.set(key, hold);
        return { acquired: true, release: releaseFor(key, hold) };
      }
      if (current.holder === holder) return { acquired: true, release: releaseFor(key, current) };
      return {
        acquired: false,
        heldBy: current.holder,
        userMessage: lockHeldMessage(key, current.holder),
      };
    },

    holderOf(key) {
      return holds.get(key)?.holder;
    },
  };
}

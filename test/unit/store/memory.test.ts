import { createMemoryStore } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/index.js';
import { describeStoreContract } from './contract.js';

describeStoreContract('memory', {
  open: async (options) => createMemoryStore(options),
});

describe('store/memory options', () => {
  it.each([0, -1, 1.5, Number.NaN])('rejects maxDeliveries %p', (maxDeliveries) => {
    const act = (): Store => createMemoryStore({ maxDeliveries });

    expect(act).toThrow('maxDeliveries: expected a positive integer');
  });
});

/** The loopback git server lives in src/bench so `npm run bench:e2e` can use it too. */
export * from '../../src/bench/git-server.js';

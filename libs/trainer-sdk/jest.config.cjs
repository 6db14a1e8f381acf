const { base } = require('../../jest.preset.cjs');

module.exports = {
  ...base,
  displayName: 'trainer-sdk',
  rootDir: __dirname,
  // Integration suites (test/*.int.spec.ts) start real servers; one file at a
  // time keeps ports and the two cores predictable.
  maxWorkers: 1,
  testTimeout: 30_000,
};

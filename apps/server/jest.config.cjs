const { base } = require('../../jest.preset.cjs');

module.exports = {
  ...base,
  displayName: 'server',
  rootDir: __dirname,
  // Integration suites start real servers; one file at a time keeps ports and CPU predictable.
  maxWorkers: 1,
  testTimeout: 30_000,
};

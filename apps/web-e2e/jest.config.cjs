const { base } = require('../../jest.preset.cjs');

module.exports = {
  ...base,
  displayName: 'web-e2e',
  rootDir: __dirname,
  // One scenario against one server, browser and simulated run, step by step.
  maxWorkers: 1,
  testTimeout: 60_000,
};

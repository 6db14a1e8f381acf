const { base } = require('../../jest.preset.cjs');

module.exports = {
  ...base,
  displayName: 'trainer-sim',
  rootDir: __dirname,
  // The integration suite starts a real server and the built CLI.
  maxWorkers: 1,
  testTimeout: 30_000,
};

const { base } = require('../../jest.preset.cjs');

module.exports = { ...base, displayName: 'proto', rootDir: __dirname };

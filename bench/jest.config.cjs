const { base } = require('../jest.preset.cjs');

module.exports = { ...base, displayName: 'bench', rootDir: __dirname };

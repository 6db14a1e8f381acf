const path = require('node:path');
const { base, swcTransform } = require('../../jest.preset.cjs');

module.exports = {
  ...base,
  displayName: 'web',
  rootDir: __dirname,
  testEnvironment: 'jsdom',
  // jsdom picks the "browser" export condition; Connect and protobuf-es ship
  // CommonJS for "require", which is what Jest's module system loads.
  testEnvironmentOptions: { customExportConditions: ['node', 'require', 'default'] },
  transform: { '^.+\\.(t|j)sx?$': swcTransform({ jsx: true }), '^.+\\.m?js$': swcTransform() },
  setupFiles: [path.join(__dirname, 'jest.setup.ts')],
  moduleNameMapper: {
    ...base.moduleNameMapper,
    '\\.css$': path.join(__dirname, 'src/test/style-stub.ts'),
  },
};

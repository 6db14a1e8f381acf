// Shared Jest settings: SWC compiles TypeScript (with decorator metadata,
// which Nest's dependency injection reads) and the ESM-only @nestjs packages
// to CommonJS so Jest's module system can load them.
const path = require('node:path');

const root = __dirname;

/** @param {{ jsx?: boolean }} [opts] */
function swcTransform(opts = {}) {
  return [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true, tsx: Boolean(opts.jsx) },
        transform: {
          legacyDecorator: true,
          decoratorMetadata: true,
          ...(opts.jsx ? { react: { runtime: 'automatic' } } : {}),
        },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ];
}

module.exports = {
  swcTransform,
  base: {
    testEnvironment: 'node',
    transform: { '^.+\\.(t|j)sx?$': swcTransform(), '^.+\\.m?js$': swcTransform() },
    transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
    moduleNameMapper: {
      '^@trainwatch/proto$': path.join(root, 'libs/proto/src/index.ts'),
      '^@trainwatch/trainer-sdk$': path.join(root, 'libs/trainer-sdk/src/index.ts'),
      '^@trainwatch/testing$': path.join(root, 'libs/testing/src/index.ts'),
    },
    testMatch: ['**/*.spec.ts', '**/*.spec.tsx'],
  },
};

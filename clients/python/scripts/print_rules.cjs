// Prints libs/proto/src/rules.ts `rulesForOtherLanguages()` as JSON, for the
// Python test that checks trainwatch/rules.py against it. Compiles the
// TypeScript on the fly with the workspace's own `typescript` package, so it
// needs nothing but node and the installed workspace (no network, no build).
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '../../..');
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    fileName: filename,
  });
  module._compile(outputText, filename);
};
const rules = require(path.join(root, 'libs/proto/src/rules.ts'));
process.stdout.write(JSON.stringify(rules.rulesForOtherLanguages(), null, 2) + '\n');

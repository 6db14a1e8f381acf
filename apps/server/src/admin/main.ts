import { runAdmin } from './admin-cli';

/** `npm run admin -- ...`: users, roles and API keys in the server's store. */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
}

runAdmin(process.argv.slice(2), {
  env: process.env,
  readPassword: readStdinLine,
  out: (line) => console.log(line),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`admin: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

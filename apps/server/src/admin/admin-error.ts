/**
 * What an admin command reports as it is, `admin: <message>`, and exits
 * with: 2 for a command it cannot run as asked (usage, settings), 1 for one
 * that ran into the store's state (a database already full, a folder in use).
 */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

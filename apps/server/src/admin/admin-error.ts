/**
 * What an admin command reports as it is, `admin: <message>`, and exits
 * with: 2 for a command it cannot run as asked (usage, settings), 1 for one
 * that ran into the store's state (a database already full, a folder in use),
 * 130 and 143 for one stopped by SIGINT or SIGTERM (as a shell reports those).
 */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 130 | 143 = 1,
  ) {
    super(message);
  }
}

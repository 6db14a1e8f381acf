import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/**
 * Nest's reports of an error that stops start-up: the error and its stack
 * (a dozen lines) from its exception handler, or a listener's error from
 * the application. Bundled, the class names carry a leading `_`.
 */
const START_UP_REPORTERS = /^_*(ExceptionHandler|NestApplication)$/;

/**
 * Nest's logger for the server, minus Nest's own report of an error that
 * stops start-up: main prints that error as the one line a user reads
 * ("trainwatch server: failed to start: ..."). Once the server is up
 * (`started()`), everything logs as usual.
 */
export class StartUpLogger extends ConsoleLogger {
  private starting = true;

  constructor(logLevels: LogLevel[]) {
    super({ logLevels });
  }

  started(): void {
    this.starting = false;
  }

  override error(message: unknown, ...rest: unknown[]): void {
    const context = rest.at(-1);
    if (this.starting && typeof context === 'string' && START_UP_REPORTERS.test(context)) return;
    super.error(message, ...rest);
  }
}

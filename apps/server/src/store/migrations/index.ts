import type { Migration, MigrationProvider } from 'kysely';
import type { StoreEngine } from './column-types';
import { initialMigration } from './0001-initial';
import { seriesBlocksMigration } from './0002-series-blocks';
import { confusionMatricesMigration } from './0010-confusion-matrices';
import { authMigration } from './0020-auth';
import { alertsMigration } from './0030-alerts';
import { sessionsDisplayNameMigration } from './0045-sessions-display-name';
import { setupTokensMigration } from './0065-setup-tokens';
import { imageFramesExternalStorageMigration } from './0075-image-frames-external-storage';
import { imageFramesInFilesMigration } from './0085-image-frames-in-files';
import { seriesBlocks512Migration } from './0095-series-blocks-512';
import { seriesBlocksEveryPowerOfTwoMigration } from './0105-series-blocks-every-power-of-two';
import { imageFrameWritersMigration } from './0115-image-frame-writers';
import { seriesBlocksCoveringMigration } from './0125-series-blocks-covering';

/**
 * Every migration, in order, compiled into the server (no migration files
 * read at run time). Names sort in order of application; add a new one at
 * the end, never edit or reorder a released one.
 */
export function storeMigrations(engine: StoreEngine): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(engine),
    '0002-series-blocks': seriesBlocksMigration(engine),
    '0010-confusion-matrices': confusionMatricesMigration(engine),
    '0020-auth': authMigration(engine),
    '0030-alerts': alertsMigration(engine),
    '0045-sessions-display-name': sessionsDisplayNameMigration(),
    '0065-setup-tokens': setupTokensMigration(engine),
    '0075-image-frames-external-storage': imageFramesExternalStorageMigration(engine),
    '0085-image-frames-in-files': imageFramesInFilesMigration(engine),
    '0095-series-blocks-512': seriesBlocks512Migration(),
    '0105-series-blocks-every-power-of-two': seriesBlocksEveryPowerOfTwoMigration(),
    '0115-image-frame-writers': imageFrameWritersMigration(engine),
    '0125-series-blocks-covering': seriesBlocksCoveringMigration(engine),
  };
}

/** A Kysely MigrationProvider over storeMigrations. */
export function migrationProvider(engine: StoreEngine): MigrationProvider {
  return { getMigrations: () => Promise.resolve(storeMigrations(engine)) };
}

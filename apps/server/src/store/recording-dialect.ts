import {
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type Transaction,
} from 'kysely';
import type { Database } from './schema';
import type { RecordedStatement } from './sqlite-write-thread';

/**
 * A SQLite "connection" that executes nothing: each query Kysely (or a
 * RawInsert) sends through it is compiled and recorded, so the store
 * writer's one body of commit code builds the statement list the write
 * thread executes (sqlite-write-thread.ts). Writes only: a read would see
 * no rows, so the commit does its reads on the real connection first.
 */
class RecordingDriver implements Driver {
  private sink: RecordedStatement[] | undefined;

  private readonly connection: DatabaseConnection = {
    executeQuery: <R>(compiled: CompiledQuery): Promise<QueryResult<R>> => {
      if (this.sink === undefined) {
        return Promise.reject(new Error('a statement was recorded outside a commit'));
      }
      this.sink.push([compiled.sql, compiled.parameters]);
      return Promise.resolve({ rows: [] });
    },
    // eslint-disable-next-line require-yield -- a recorder has no rows to stream
    streamQuery: async function* () {
      throw new Error('the recording connection cannot stream');
    },
  };

  /** Records what `body` sends, in order. */
  async record(
    db: Kysely<Database>,
    body: (trx: Transaction<Database>) => Promise<void>,
  ): Promise<RecordedStatement[]> {
    if (this.sink !== undefined) throw new Error('a commit is being recorded already');
    const sink: RecordedStatement[] = [];
    this.sink = sink;
    try {
      await db.transaction().execute(body);
    } finally {
      this.sink = undefined;
    }
    return sink;
  }

  init(): Promise<void> {
    return Promise.resolve();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(this.connection);
  }
  // The write thread wraps the statements in its own transaction.
  beginTransaction(): Promise<void> {
    return Promise.resolve();
  }
  commitTransaction(): Promise<void> {
    return Promise.resolve();
  }
  rollbackTransaction(): Promise<void> {
    return Promise.resolve();
  }
  releaseConnection(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

/** Builds a commit's statements through Kysely without running them. */
export class StatementRecorder {
  private readonly driver = new RecordingDriver();
  private readonly db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => this.driver,
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });

  /** The statements `body` sends through its transaction, in order; none is executed. */
  record(body: (trx: Transaction<Database>) => Promise<void>): Promise<RecordedStatement[]> {
    return this.driver.record(this.db, body);
  }
}

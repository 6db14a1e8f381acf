import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import {
  AcknowledgeAlertRequestSchema,
  AcknowledgeAlertResponseSchema,
  SetAlertRulesRequestSchema,
  SetAlertRulesResponseSchema,
  UpdateSessionRequestSchema,
  UpdateSessionResponseSchema,
} from '@trainwatch/proto';

/**
 * DashboardService edits that change a live session and so produce a watch
 * event (metadata, alert, alert settings). With several replicas they run
 * on the session's owner, the one replica appending its events to the log,
 * so the event takes its place in the one order every watcher sees.
 */
export const SESSION_EDITS = {
  update: { request: UpdateSessionRequestSchema, response: UpdateSessionResponseSchema },
  acknowledgeAlert: {
    request: AcknowledgeAlertRequestSchema,
    response: AcknowledgeAlertResponseSchema,
  },
  setAlertRules: { request: SetAlertRulesRequestSchema, response: SetAlertRulesResponseSchema },
} as const satisfies Record<string, { request: DescMessage; response: DescMessage }>;

export type EditKind = keyof typeof SESSION_EDITS;
export type EditRequest<K extends EditKind> = MessageShape<(typeof SESSION_EDITS)[K]['request']>;
export type EditResponse<K extends EditKind> = MessageShape<(typeof SESSION_EDITS)[K]['response']>;

/**
 * How this replica applies each edit itself. `by`: the signed-in user the
 * caller's replica found ('' for none), named where the edit records who.
 */
export type EditHandlers = {
  [K in EditKind]: (request: EditRequest<K>, by: string) => Promise<EditResponse<K>>;
};

import {
  MetricsRequestSchema,
  WATCH_EVENT_DELIVERY,
  WatchSessionResponseSchema,
} from '@trainwatch/proto';
import { WATCH_EVENT_KINDS } from '../fan-out/watch-event-kinds';
import { PAYLOAD_KINDS } from './payload-kinds';

/** The fields of a message's oneof, read from the generated descriptor (what the contract says now). */
function oneofCases(
  schema: typeof MetricsRequestSchema | typeof WatchSessionResponseSchema,
  oneof: string,
) {
  const found = schema.oneofs.find((candidate) => candidate.name === oneof);
  if (found === undefined) throw new Error(`${schema.typeName} has no oneof ${oneof}`);
  return found.fields.map((field) => field.localName).sort();
}

describe('payload registries cover the contract', () => {
  it('every MetricsRequest.payload case has an ingest entry, and no entry names a case the contract lacks', () => {
    expect(Object.keys(PAYLOAD_KINDS).sort()).toEqual(oneofCases(MetricsRequestSchema, 'payload'));
  });

  it('every WatchSessionResponse.event case has a source and a delivery', () => {
    const cases = oneofCases(WatchSessionResponseSchema, 'event');
    expect(Object.keys(WATCH_EVENT_KINDS).sort()).toEqual(cases);
    expect(Object.keys(WATCH_EVENT_DELIVERY).sort()).toEqual(cases);
  });
});

/**
 * Runs the scenario suite both SDKs share (libs/sdk-scenarios) against this
 * SDK's outbox. Every scenario in the file runs; a step this runner does not
 * know fails, so the suite and the runner cannot drift apart silently.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { MetricsRequestSchema, type MetricsRequest } from '@trainwatch/proto';
import { Outbox, type DroppedItem, type OutboxEntry } from './outbox';

interface Scenario {
  name: string;
  bound: number;
  imageBudgetBytes?: number;
  imageBytes?: number;
  steps: Step[];
}

type Step = Record<string, unknown>;

interface Expectation {
  held?: string[];
  images?: string[];
  sequences?: Record<string, number>;
  drops?: [string, string, number][];
  counters?: { droppedImageFrames: number; droppedMessages: number };
  slots?: number;
  imageBytes?: number;
  lastSequence?: number;
  highestAcked?: number;
}

const SUITE_FILE = join(__dirname, '../../sdk-scenarios/scenarios.json');
const suite = JSON.parse(readFileSync(SUITE_FILE, 'utf8')) as { scenarios: Scenario[] };

type Payload = MessageInitShape<typeof MetricsRequestSchema>['payload'];

function payloadOf(kind: string, images: number, imageBytes: number, index: number): Payload {
  switch (kind) {
    case 'batch':
      return {
        case: 'batchData',
        value: {
          batchIdx: index,
          batchLoss: 1,
          images: Array.from({ length: images }, () => ({
            imageBytes: new Uint8Array(imageBytes).fill(0xff),
            width: 1,
            height: 1,
          })),
          predictions: Array.from({ length: images }, () => ({ predictedClass: 0, confidence: 1 })),
          groundTruth: Array.from({ length: images }, () => 0),
        },
      };
    case 'epoch':
      return { case: 'epochData', value: { epoch: index, metrics: { 'val/loss': 1 } } };
    case 'performance':
      return { case: 'performanceData', value: { currentFps: 1 } };
    case 'system':
      return { case: 'scalars', value: { values: { 'system/cpu_percent': 1 } } };
    case 'scalars':
      return { case: 'scalars', value: { values: { lr: 0.1, 'system/cpu_percent': 1 } } };
    case 'status':
      return { case: 'statusUpdate', value: { message: 'x' } };
    case 'metadata':
      return { case: 'runMetadata', value: { tags: ['t'] } };
    case 'command_result':
      return { case: 'commandResult', value: { commandId: `c${index}`, success: true } };
    default:
      throw new Error(`unknown message kind ${kind}`);
  }
}

function runScenario(scenario: Scenario): void {
  const drops: DroppedItem[] = [];
  const outbox = new Outbox(scenario.bound, (item) => drops.push(item), scenario.imageBudgetBytes);
  const idOf = new Map<number, string>();
  const entryOf = new Map<string, OutboxEntry>();
  const requestOf = new Map<string, MetricsRequest>();
  const name = (entry: OutboxEntry) => idOf.get(entry.logIndex) ?? `#${entry.logIndex}`;

  for (const [index, step] of scenario.steps.entries()) {
    const where = `step ${index + 1} ${JSON.stringify(step)}`;
    const keys = Object.keys(step).sort().join(',');
    if (keys === 'kind,log' || keys === 'images,kind,log') {
      const id = step.log as string;
      const request = create(MetricsRequestSchema, {
        payload: payloadOf(
          step.kind as string,
          (step.images as number | undefined) ?? 0,
          scenario.imageBytes ?? 100,
          index,
        ),
      });
      requestOf.set(id, request);
      const entry = outbox.push(request);
      // A dropped message still had a log position: the next one.
      const logIndex = entry?.logIndex ?? (drops.at(-1)?.logIndex as number);
      idOf.set(logIndex, id);
      if (entry !== undefined) entryOf.set(id, entry);
    } else if (keys === 'write,written') {
      const written: [string, number, boolean][] = [];
      const limit = step.write === 'all' ? Infinity : (step.write as number);
      for (
        let entry = outbox.peekUnsent();
        entry && written.length < limit;
        entry = outbox.peekUnsent()
      ) {
        const replay = entry.writes > 0;
        const sequence = outbox.markSent(entry);
        expect(entry.request.sequence).toBe(sequence);
        written.push([name(entry), Number(sequence), replay]);
      }
      expect({ where, written }).toEqual({ where, written: step.written });
    } else if (keys === 'ack') {
      outbox.ack(BigInt(step.ack as number));
    } else if (keys === 'reconnect') {
      outbox.resume(BigInt(step.reconnect as number));
    } else if (keys === 'resize') {
      outbox.resize(step.resize as number);
    } else if (keys === 'expect') {
      const want = step.expect as Expectation;
      const held = outbox.held();
      const seen: Expectation = {};
      if (want.held) seen.held = held.map(name);
      if (want.images) seen.images = held.filter((e) => e.slots === 2).map(name);
      if (want.sequences) {
        seen.sequences = Object.fromEntries(
          Object.keys(want.sequences).map((id) => [id, Number(entryOf.get(id)?.sequence ?? -1)]),
        );
      }
      if (want.drops) {
        seen.drops = drops.map((d) => [d.kind, idOf.get(d.logIndex) ?? '?', Number(d.sequence)]);
      }
      if (want.counters) seen.counters = { ...outbox.dropped };
      if (want.slots !== undefined) seen.slots = outbox.slotsInUse;
      if (want.imageBytes !== undefined) seen.imageBytes = outbox.imageBytes;
      if (want.lastSequence !== undefined) seen.lastSequence = Number(outbox.lastSequence);
      if (want.highestAcked !== undefined) seen.highestAcked = Number(outbox.highestAcked);
      expect({ where, ...seen }).toEqual({ where, ...want });
      // A stripped batch really lost its samples, not just its slot.
      for (const entry of held) {
        const payload = entry.request.payload;
        if (payload.case === 'batchData' && entry.slots === 1) {
          expect(payload.value.images).toEqual([]);
          expect(payload.value.predictions).toEqual([]);
          expect(payload.value.groundTruth).toEqual([]);
        }
      }
    } else {
      throw new Error(`${scenario.name}: ${where}: step not understood by this runner`);
    }
    expect(outbox.slotsInUse).toBeLessThanOrEqual(
      Math.max(
        scenario.bound,
        held(outbox).filter((e) => e.request.payload.case === 'commandResult').length,
      ),
    );
  }
}

function held(outbox: Outbox): OutboxEntry[] {
  return outbox.held();
}

describe('shared SDK scenarios (libs/sdk-scenarios)', () => {
  it('the suite is not empty and every scenario has a unique name', () => {
    const names = suite.scenarios.map((s) => s.name);
    expect(names.length).toBeGreaterThan(10);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(suite.scenarios.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    runScenario(scenario);
  });
});

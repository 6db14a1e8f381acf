/**
 * Command round trip: SendCommand → the trainer applies it → the result back
 * to the caller, while the trainer streams 60 msg/s with 16 images.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  CommandState,
  CommandType,
  DashboardService,
  SendCommandRequestSchema,
  SendCommandResponseSchema,
  type SendCommandResponse,
} from '@trainwatch/proto';
import { count, ms, times } from '../common/format';
import { asBuffer, identity, rawClient, sessionMetadata } from '../common/grpc-raw';
import { jpegSet } from '../common/jpeg-payloads';
import { LiveSession } from '../common/live-session';
import { runBench, type TargetVerdict } from '../common/result';
import { ratio, SampleBuffer, type Summary } from '../common/stats';
import { startTarget, type Target, type TargetKind } from '../common/targets';
import type { WatchProtocol } from '../common/watchers';
import { encodeImagePart, PATHS } from '../common/wire';

const RATE = 60;
const TARGET_P99_MS = 100;
/** Pause between commands, so each round trip is measured on its own. */
const GAP_MS = 20;

type Send = (type: CommandType) => Promise<SendCommandResponse>;

function nativeSender(target: Target, sessionId: string): { send: Send; close(): void } {
  const client = rawClient(target.grpcAddress);
  const send: Send = (type) =>
    new Promise((resolve, reject) => {
      const request = toBinary(
        SendCommandRequestSchema,
        create(SendCommandRequestSchema, { sessionId, type, issuedBy: 'bench', timeoutMs: 5000 }),
      );
      client.makeUnaryRequest(
        PATHS.sendCommand,
        asBuffer,
        identity,
        asBuffer(request),
        sessionMetadata(sessionId),
        { deadline: Date.now() + 10_000 },
        (error, bytes) =>
          error || !bytes
            ? reject(error ?? new Error('empty response'))
            : resolve(fromBinary(SendCommandResponseSchema, bytes)),
      );
    });
  return { send, close: () => client.close() };
}

function webSender(target: Target, sessionId: string): { send: Send; close(): void } {
  if (!target.httpUrl) throw new Error('no gRPC-Web endpoint');
  const client = createClient(
    DashboardService,
    createGrpcWebTransport({ baseUrl: target.httpUrl, useBinaryFormat: true }),
  );
  return {
    send: (type) => client.sendCommand({ sessionId, type, issuedBy: 'bench', timeoutMs: 5000 }),
    close: () => undefined,
  };
}

interface Run {
  kind: TargetKind;
  protocol: WatchProtocol;
  rtt: Summary;
  failures: number;
  firstFailure?: string;
}

async function measure(
  kind: TargetKind,
  protocol: WatchProtocol,
  commands: number,
  imagePart: Uint8Array,
): Promise<Run> {
  const target = await startTarget(kind);
  const sessionId = `command-${protocol}`;
  const session = new LiveSession(target, sessionId, imagePart, RATE);
  const sender =
    protocol === 'grpc' ? nativeSender(target, sessionId) : webSender(target, sessionId);
  const rtt = new SampleBuffer(commands);
  let failures = 0;
  let firstFailure: string | undefined;
  try {
    await session.start();
    // Warm-up: the first call opens connections; wait until the trainer's stream is acked.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < commands + 2; i++) {
      const type = i % 2 === 0 ? CommandType.PAUSE : CommandType.RESUME;
      const began = performance.now();
      try {
        const response = await sender.send(type);
        const elapsed = performance.now() - began;
        if (kind === 'product' && response.entry?.state !== CommandState.SUCCEEDED) {
          throw new Error(
            `command ended ${CommandState[response.entry?.state ?? 0]}: ${response.entry?.resultMessage}`,
          );
        }
        if (i >= 2) rtt.add(elapsed);
      } catch (error) {
        failures++;
        firstFailure ??= error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    }
    const run: Run = { kind, protocol, rtt: rtt.summary(), failures, firstFailure };
    console.error(`[command] ${JSON.stringify(run)}`);
    return run;
  } finally {
    sender.close();
    await session.close();
    await target.stop();
  }
}

runBench('command', 'Command round trip', async ({ quick, targets: sides }) => {
  const imagePart = encodeImagePart(jpegSet(2048, 16));
  const commands = quick ? 20 : 300;
  const plans: { kind: TargetKind; protocol: WatchProtocol }[] = [
    { kind: 'product', protocol: 'grpc' },
    { kind: 'product', protocol: 'grpc-web' },
    { kind: 'relay', protocol: 'grpc' },
  ];
  const runs: Run[] = [];
  for (const plan of plans.filter((p) => sides.has(p.kind)))
    runs.push(await measure(plan.kind, plan.protocol, commands, imagePart));
  const relay = runs.find((r) => r.kind === 'relay');
  const targets: TargetVerdict[] = runs
    .filter((r) => r.kind === 'product')
    .map((run) => ({
      target: `Command round trip p99 ≤ ${TARGET_P99_MS} ms (${run.protocol === 'grpc' ? 'native gRPC' : 'gRPC-Web'})`,
      measured: `${ms(run.rtt.p99)} (p50 ${ms(run.rtt.p50)})`,
      met: quick ? null : run.rtt.p99 <= TARGET_P99_MS && run.failures === 0,
      why: run.failures > 0 ? `${run.failures} commands failed: ${run.firstFailure}` : undefined,
    }));
  return {
    method:
      `While one trainer streams ${RATE} batches/s with 16 × 2 KB images, ${commands} commands (PAUSE and RESUME in ` +
      `turn, ${GAP_MS} ms apart) are sent one at a time; each is timed from the call until its response, which the ` +
      'product only sends once the trainer has reported the result on its stream. The synthetic trainer answers as soon ' +
      'as the command arrives, so the figures are the transport and server cost, not a training step. The relay ' +
      "forwards a pre-serialized command to the trainer stream and answers the caller when the trainer's result passes.",
    tables: [
      {
        caption: 'Round trip',
        columns: [
          'target',
          'protocol',
          'commands',
          'p50',
          'p95',
          'p99',
          'max',
          'failures',
          'p99 vs relay',
        ],
        rows: runs.map((run) => [
          run.kind === 'relay' ? 'relay (baseline)' : 'product',
          run.protocol,
          count(run.rtt.count),
          ms(run.rtt.p50),
          ms(run.rtt.p95),
          ms(run.rtt.p99),
          ms(run.rtt.max),
          String(run.failures),
          run.kind === 'relay' || !relay ? '—' : times(ratio(run.rtt.p99, relay.rtt.p99)),
        ]),
      },
    ],
    targets,
    notes: runs
      .filter((r) => r.firstFailure)
      .map((r) => `${r.kind} ${r.protocol}: ${r.failures} failed; first: ${r.firstFailure}`),
  };
});

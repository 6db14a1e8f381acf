import { ErrorCode } from '@trainwatch/proto';
import { encode } from 'jpeg-js';
import {
  grpcDashboard,
  makeJpeg,
  register,
  startTestServer,
  telemetryClient,
  TrainerStreamClient,
  type DashboardApi,
  type TestServer,
} from './harness';

/**
 * What a batch carries besides its images' headers: whole JPEGs,
 * probabilities, class indices within the run's classes, bounded labels.
 * Each bad batch gets an ErrorResponse naming the batch and the image; its
 * stream goes on, and a healthy session next to it is untouched.
 */
describe('batch content over native gRPC', () => {
  let server: TestServer;
  let telemetry: ReturnType<typeof telemetryClient>;
  let dashboard: DashboardApi;
  let counter = 0;
  const nextId = () => `content-${++counter}`;
  const classNames = ['cat', 'dog', 'bird'];
  const jpeg = makeJpeg(16, 16);
  /** Noise, so the scan data is long enough to cut inside it (a flat image's is a few bytes). */
  const noisy = new Uint8Array(
    encode(
      {
        data: Buffer.from(Array.from({ length: 16 * 16 * 4 }, (_, i) => (i * 97) % 251)),
        width: 16,
        height: 16,
      },
      90,
    ).data,
  );
  const image = (bytes = jpeg) => ({
    imageBytes: bytes,
    format: 'jpeg',
    width: 16,
    height: 16,
    channels: 3,
  });
  const good = { images: [image(), image()], groundTruth: [0, 2] };

  beforeAll(async () => {
    server = await startTestServer({ MAX_IMAGES_PER_BATCH: '4', MAX_IMAGE_DIMENSION: '64' });
    telemetry = telemetryClient(server.grpcAddress);
    dashboard = grpcDashboard(server.grpcAddress);
  });

  afterAll(async () => {
    telemetry.close();
    dashboard.close();
    await server.shutdown();
  });

  async function summary(sessionId: string) {
    return (await dashboard.listSessions()).sessions.find(
      (session) => session.sessionId === sessionId,
    );
  }

  it.each([
    [
      'a JPEG cut short after its header',
      { images: [image(), image(noisy.subarray(0, noisy.length - 40))] },
      ErrorCode.NOT_JPEG,
      /image 1: the JPEG does not end with the end-of-image marker FF D9: it is truncated/,
    ],
    [
      'a JPEG missing only its EOI',
      { images: [image(jpeg.subarray(0, jpeg.length - 2))] },
      ErrorCode.NOT_JPEG,
      /image 0: .*truncated/,
    ],
    [
      'confidence above 1',
      { ...good, predictions: [{ predictedClass: 0, confidence: 0.5 }, { confidence: 1.01 }] },
      ErrorCode.INVALID_ARGUMENT,
      /image 1: confidence 1.0\d* is outside 0..1/,
    ],
    [
      'negative confidence',
      { ...good, predictions: [{ confidence: -0.5 }] },
      ErrorCode.INVALID_ARGUMENT,
      /image 0: confidence -0.5 is outside 0..1/,
    ],
    [
      'NaN confidence',
      { ...good, predictions: [{ confidence: Number.NaN }] },
      ErrorCode.NON_FINITE_VALUE,
      /image 0: confidence is NaN/,
    ],
    [
      'predicted_class outside the class list',
      { ...good, predictions: [{ predictedClass: 1 }, { predictedClass: 3, confidence: 0.9 }] },
      ErrorCode.INVALID_ARGUMENT,
      /image 1: predicted_class 3 is outside class_names \(3 classes: 0..2\)/,
    ],
    [
      'ground truth outside the class list',
      { ...good, groundTruth: [0, 5] },
      ErrorCode.INVALID_ARGUMENT,
      /image 1: ground_truth 5 is outside class_names \(3 classes: 0..2\)/,
    ],
    [
      'negative ground truth',
      { ...good, groundTruth: [-1, 0] },
      ErrorCode.INVALID_ARGUMENT,
      /image 0: ground_truth -1 is negative/,
    ],
    [
      'a 10,000-character predicted label',
      { ...good, predictions: [{ predictedLabel: 'x'.repeat(10_000), confidence: 0.5 }] },
      ErrorCode.INVALID_ARGUMENT,
      /image 0: predicted_label has 10000 characters, more than 256/,
    ],
  ])(
    '%s: ErrorResponse naming the batch and image; the stream and a healthy session go on',
    async (_case, init, code, message) => {
      const bad = nextId();
      const healthy = nextId();
      const config = { totalEpochs: 1, batchesPerEpoch: 100, batchSize: 2, classNames };
      await register(telemetry, { sessionId: bad, config });
      await register(telemetry, { sessionId: healthy, config });
      const badStream = new TrainerStreamClient(telemetry, bad);
      const healthyStream = new TrainerStreamClient(telemetry, healthy);
      const predictions = [
        { predictedClass: 0, predictedLabel: 'cat', confidence: 0 },
        { predictedClass: 2, predictedLabel: 'bird', confidence: 1 },
      ];
      for (let index = 0; index < 10; index++)
        healthyStream.batch(BigInt(index + 1), 0, index, { ...good, predictions });
      badStream.batch(1n, 0, 0, { ...good, predictions });
      badStream.batch(2n, 0, 1, init);
      badStream.batch(3n, 0, 2, good);
      await badStream.waitForAck(3n);
      await healthyStream.waitForAck(10n);
      expect(badStream.errors()).toEqual([
        expect.objectContaining({
          code,
          sequence: 2n,
          epoch: 0,
          batchIdx: 1,
          message: expect.stringMatching(message),
        }),
      ]);
      expect(badStream.errors()[0]?.message).toMatch(/^batch 1 of epoch 0, image \d+: /);
      expect(badStream.acks().map((ack) => [ack.sequence, ack.success])).toEqual([
        [1n, true],
        [2n, false],
        [3n, true],
      ]);
      expect(badStream.status).toBeUndefined();
      expect(healthyStream.errors()).toEqual([]);
      expect(healthyStream.acks().every((ack) => ack.success)).toBe(true);
      expect((await summary(bad))?.batchesReceived).toBe(2n);
      expect((await summary(healthy))?.batchesReceived).toBe(10n);
      badStream.end();
      healthyStream.end();
    },
  );

  it('a run whose config names no classes accepts any class index >= 0', async () => {
    const id = nextId();
    await register(telemetry, {
      sessionId: id,
      config: { totalEpochs: 1, batchesPerEpoch: 10, batchSize: 2 },
    });
    const stream = new TrainerStreamClient(telemetry, id);
    stream.batch(1n, 0, 0, {
      ...good,
      groundTruth: [41, 1000],
      predictions: [{ predictedClass: 999, confidence: 0.5 }],
    });
    stream.batch(2n, 0, 1, { ...good, groundTruth: [-1, 0] });
    await stream.waitForAck(2n);
    expect(stream.acks().map((ack) => [ack.sequence, ack.success])).toEqual([
      [1n, true],
      [2n, false],
    ]);
    expect(stream.errors()[0]?.message).toMatch(/image 0: ground_truth -1 is negative/);
    stream.end();
  });
});

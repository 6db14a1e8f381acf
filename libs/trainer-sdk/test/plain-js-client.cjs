// A plain JavaScript (CommonJS) trainer using the built package, exactly as a
// user would after installing it. Usage: node plain-js-client.cjs <package dir> <address>
'use strict';
const { TrainingSession, TrainingStatus, encodeJpeg } = require(process.argv[2]);

async function main() {
  const run = await TrainingSession.connect({
    address: process.argv[3],
    sessionId: 'plain-js',
    clientName: 'plain-js-test',
    config: { totalEpochs: 1, batchesPerEpoch: 3, batchSize: 2, classNames: ['a', 'b'] },
  });
  const pixels = new Uint8Array(8 * 8 * 3).fill(200);
  for (let batchIdx = 0; batchIdx < 3; batchIdx++) {
    if ((await run.gate()) === 'stop') break;
    const image = encodeJpeg({ width: 8, height: 8, channels: 3, data: pixels });
    run.logBatch({
      epoch: 0,
      batchIdx,
      loss: 1 / (batchIdx + 1),
      images: [image],
      groundTruth: [1],
    });
  }
  run.logEpoch({ epoch: 0, averageLoss: 0.6, averageAccuracy: 0.5 });
  const stats = await run.close({ status: TrainingStatus.COMPLETED });
  console.log(JSON.stringify(stats));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/** What to do when no trainer has connected yet. */
export function EmptyState() {
  return (
    <section className="empty-state" data-testid="empty-state">
      <h2>No training sessions yet</h2>
      <p>Connect a trainer and its run shows up here within a second.</p>
      <p>
        Try the simulated run: <code>npm run demo</code>
      </p>
      <p>Or stream from your own training loop with the SDK:</p>
      <pre>
        <code>{`import { TrainingSession } from '@trainwatch/trainer-sdk';

const session = await TrainingSession.connect({
  address: 'localhost:50051',
  config: { totalEpochs: 10, batchesPerEpoch: 500, batchSize: 64,
            modelName: 'resnet18', datasetName: 'cifar10', classNames },
});
for (const [batchIdx, batch] of batches.entries()) {
  if ((await session.gate()) === 'stop') break; // obeys Pause/Resume/Stop
  session.logBatch({ epoch, batchIdx, loss, images, predictions, groundTruth });
}
await session.close();`}</code>
      </pre>
    </section>
  );
}

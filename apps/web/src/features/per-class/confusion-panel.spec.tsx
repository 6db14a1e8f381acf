import { create } from '@bufbuild/protobuf';
import {
  ConfusionMatrixSchema,
  GetConfusionMatrixResponseSchema,
  GetImageFramesResponseSchema,
  TrainingConfigSchema,
  WatchSessionResponseSchema,
} from '@trainwatch/proto';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { FakeDashboard } from '../../test/fake-dashboard';
import { imageFrame, snapshot } from '../../test/fixtures';
import { manualFrames } from '../../test/manual-frames';
import { renderWithServer } from '../../test/render';
import { SessionStore } from '../session/store/session-store';
import { ConfusionPanel } from './confusion-panel';
import { CONFUSION_REFRESH_MS } from './live-confusion';

/** Truth 0 right twice, truth 1 taken for 0 once, in `epoch`. */
const matrix = (epoch: number, increment: boolean, scale = 1n) =>
  create(ConfusionMatrixSchema, {
    epoch,
    increment,
    truthClasses: [0, 1],
    predictedClasses: [0, 0],
    counts: [2n * scale, scale],
    rowClasses: [0, 1],
    rowTotals: [2n * scale, scale],
    rowCorrect: [2n * scale, 0n],
    predictions: 3n * scale,
  });

function setUp() {
  const frames = manualFrames();
  // The store's clock: the live matrix is redrawn at most every CONFUSION_REFRESH_MS of it.
  const clock = { now: 0 };
  const store = new SessionStore({ schedule: frames.schedule, now: () => clock.now });
  const start = snapshot(0n, [0], {
    session: { config: create(TrainingConfigSchema, { classNames: ['cat', 'dog'] }) },
  });
  if (start.event.case === 'snapshot') start.event.value.confusion = matrix(1, false);
  store.apply(start);
  act(() => {
    frames.flush();
  });
  const fake = new FakeDashboard();
  fake.onGetConfusionMatrix = (request) =>
    create(GetConfusionMatrixResponseSchema, {
      epochs: [0, 1],
      matrix: request.epoch === 0 ? matrix(0, false, 10n) : undefined,
    });
  return { store, frames, fake, clock };
}

const cell = (truth: number, predicted: number) =>
  screen
    .getAllByTestId('confusion-cell')
    .find(
      (button) =>
        button.dataset.truth === String(truth) && button.dataset.predicted === String(predicted),
    );

describe('ConfusionPanel', () => {
  it('shows the live epoch, adds increments as they arrive, and older epochs from the server', async () => {
    const { store, frames, fake, clock } = setUp();
    renderWithServer(fake, <ConfusionPanel sessionId="run-1" store={store} />);
    expect(cell(1, 0)?.dataset.count).toBe('1');
    // The live matrix is of epoch index 1: the second epoch, "epoch 2" in Progress too.
    expect(screen.getByTestId('confusion-epoch').textContent).toBe('2');
    // One batch's increment, once the matrix may be redrawn.
    clock.now += CONFUSION_REFRESH_MS;
    store.apply(
      create(WatchSessionResponseSchema, {
        cursor: 1n,
        event: { case: 'confusion', value: matrix(1, true) },
      }),
    );
    act(() => {
      frames.flush();
    });
    expect(cell(1, 0)?.dataset.count).toBe('2');
    expect(screen.getByTestId('confusion-total').textContent).toContain('6 predictions');
    const rows = screen.getAllByTestId('class-accuracy-row').map((row) => row.textContent);
    expect(rows[0]).toContain('cat: 100.0%');
    expect(rows[1]).toContain('dog: 0.0%');
    // Epoch 0 is only on the server.
    await waitFor(() =>
      expect(screen.getByTestId('confusion-epoch-slider').getAttribute('max')).toBe('1'),
    );
    fireEvent.change(screen.getByTestId('confusion-epoch-slider'), { target: { value: '0' } });
    await waitFor(() => expect(cell(1, 0)?.dataset.count).toBe('10'));
    expect(screen.getByTestId('confusion-epoch').textContent).toBe('1');
    expect(fake.confusionRequests.some((request) => request.epoch === 0)).toBe(true);
  });

  it('opens the stored images of a (truth, predicted) pair', async () => {
    const { store, fake } = setUp();
    // Images 0..3: truth i % 4, predicted i % 4 except image 1 (truth 1) predicted as 0.
    const frame = imageFrame(7, 4);
    frame.predictions[1]!.predictedClass = 0;
    fake.onGetImageFrames = () =>
      create(GetImageFramesResponseSchema, { frames: [frame], frameSteps: [7n] });
    renderWithServer(fake, <ConfusionPanel sessionId="run-1" store={store} />);
    fireEvent.click(cell(1, 0)!);
    await waitFor(() => expect(screen.getAllByTestId('confusion-pair-frame')).toHaveLength(1));
    expect(fake.imageFrameRequests[0]).toMatchObject({ truthClass: 1, predictedClass: 0 });
    // Only the image of the pair is shown.
    expect(await screen.findAllByTestId('image-tile')).toHaveLength(1);
  });
});

import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { CLASS_NAMES, imageFrame } from '../../test/fixtures';
import { liveObjectUrlCount } from '../../test/object-urls';
import { ImageGrid } from './image-grid';

const globals = globalThis as { createImageBitmap?: unknown };

describe('ImageGrid', () => {
  let decodes = 0;
  beforeEach(() => {
    decodes = 0;
    // Chromium decodes a Blob off the main thread; here every decode succeeds at once.
    globals.createImageBitmap = () => {
      decodes += 1;
      return Promise.resolve({ width: 8, height: 8, close: () => undefined });
    };
  });
  afterEach(() => {
    delete globals.createImageBitmap;
  });

  it('paints each tile on its own canvas from the bytes, keeping the canvases across frames', async () => {
    const view = render(<ImageGrid frame={imageFrame(1, 16)} classNames={CLASS_NAMES} />);
    await waitFor(() =>
      expect(
        screen
          .getAllByTestId('image-tile-canvas')
          .filter((canvas) => canvas.getAttribute('data-drawn') === '1'),
      ).toHaveLength(16),
    );
    const canvases = screen.getAllByTestId('image-tile-canvas');
    // New pictures (the last byte differs): every tile decodes again.
    const next = imageFrame(2, 16);
    for (const image of next.images) {
      const changed = new Uint8Array(image.imageBytes);
      changed[changed.length - 1] ^= 1;
      image.imageBytes = changed;
    }
    view.rerender(<ImageGrid frame={next} classNames={CLASS_NAMES} />);
    await waitFor(() => expect(decodes).toBe(32));
    const drawnSteps = () =>
      screen.getAllByTestId('image-tile-canvas').map((canvas) => canvas.getAttribute('data-drawn'));
    await waitFor(() => expect(drawnSteps()).toEqual(Array.from({ length: 16 }, () => '2')));
    // The same pictures with the next batch (fixed samples whose predictions are
    // watched): the tiles show frame 3 without decoding them again.
    const same = imageFrame(3, 16);
    same.images.forEach((image, index) => {
      image.imageBytes = new Uint8Array(next.images[index]?.imageBytes ?? []);
    });
    view.rerender(<ImageGrid frame={same} classNames={CLASS_NAMES} />);
    await waitFor(() => expect(drawnSteps()).toEqual(Array.from({ length: 16 }, () => '3')));
    expect(decodes).toBe(32);
    // The same elements: a new frame repaints, it does not rebuild the grid.
    expect(screen.getAllByTestId('image-tile-canvas')).toEqual(canvases);
  });

  it('makes one object URL for the larger view and revokes it on close', async () => {
    const before = liveObjectUrlCount();
    render(<ImageGrid frame={imageFrame(1, 4)} classNames={CLASS_NAMES} />);
    expect(liveObjectUrlCount()).toBe(before);
    fireEvent.click(screen.getAllByRole('button', { name: /Enlarge/ })[1] as HTMLElement);
    await screen.findByTestId('image-lightbox');
    expect(liveObjectUrlCount()).toBe(before + 1);
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByTestId('image-lightbox')).toBeNull();
    expect(liveObjectUrlCount()).toBe(before);
  });
});

import { CLASS_NAMES, imageFrame } from '../../test/fixtures';
import { liveObjectUrlCount, objectUrlPeak, resetObjectUrlPeak } from '../../test/object-urls';
import { classLabel, ImageUrlRegistry, MAX_IMAGES_PER_FRAME } from './image-url-registry';

describe('ImageUrlRegistry', () => {
  it('labels predictions from class names and marks right and wrong', () => {
    const registry = new ImageUrlRegistry();
    const frame = imageFrame(1, 4, (i) => (i === 2 ? 0 : i));
    const shown = registry.show(frame, CLASS_NAMES);
    expect(shown.images.map((image) => image.predictedLabel)).toEqual([
      'cat',
      'dog',
      'bird',
      'fish',
    ]);
    expect(shown.images.map((image) => image.correct)).toEqual([true, true, false, true]);
    expect(shown.images[2].groundTruthLabel).toBe('cat');
    registry.dispose();
  });

  it('falls back to the trainer label, then to the index', () => {
    expect(classLabel([], 3, 'truck')).toBe('truck');
    expect(classLabel([], 3)).toBe('#3');
  });

  it('keeps at most one frame of URLs alive while frames stream in, and none after dispose', () => {
    const before = liveObjectUrlCount();
    resetObjectUrlPeak();
    const registry = new ImageUrlRegistry();
    for (let step = 0; step < 200; step++) {
      registry.show(imageFrame(step, 24), CLASS_NAMES);
      expect(registry.liveUrlCount).toBe(MAX_IMAGES_PER_FRAME);
      expect(liveObjectUrlCount() - before).toBe(MAX_IMAGES_PER_FRAME);
    }
    // Not even for a moment while one frame replaces another.
    expect(objectUrlPeak() - before).toBe(MAX_IMAGES_PER_FRAME);
    registry.dispose();
    expect(liveObjectUrlCount()).toBe(before);
  });

  it('a frozen frame stays alive beside the latest one and is released on unfreeze', () => {
    const before = liveObjectUrlCount();
    const registry = new ImageUrlRegistry();
    const first = registry.show(imageFrame(0, 16), CLASS_NAMES);
    expect(registry.freeze()).toBe(first);
    registry.show(imageFrame(1, 16), CLASS_NAMES);
    registry.show(imageFrame(2, 16), CLASS_NAMES);
    expect(liveObjectUrlCount() - before).toBe(2 * MAX_IMAGES_PER_FRAME);
    registry.unfreeze();
    expect(liveObjectUrlCount() - before).toBe(MAX_IMAGES_PER_FRAME);
    registry.dispose();
    expect(liveObjectUrlCount()).toBe(before);
  });

  it('returns the same display frame for the same message (no new URLs on re-render)', () => {
    const registry = new ImageUrlRegistry();
    const frame = imageFrame(0, 2);
    expect(registry.show(frame, CLASS_NAMES)).toBe(registry.show(frame, CLASS_NAMES));
    registry.dispose();
  });
});

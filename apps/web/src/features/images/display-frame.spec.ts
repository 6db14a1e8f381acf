import { CLASS_NAMES, imageFrame } from '../../test/fixtures';
import { classLabel, displayFrame, MAX_IMAGES_PER_FRAME } from './display-frame';

describe('displayFrame', () => {
  it('labels predictions from class names and marks right and wrong', () => {
    const frame = imageFrame(1, 4, (i) => (i === 2 ? 0 : i));
    const shown = displayFrame(frame, CLASS_NAMES);
    expect(shown.images.map((image) => image.predictedLabel)).toEqual([
      'cat',
      'dog',
      'bird',
      'fish',
    ]);
    expect(shown.images.map((image) => image.correct)).toEqual([true, true, false, true]);
    expect(shown.images[2]?.groundTruthLabel).toBe('cat');
    // The bytes as they came: nothing copied, no object URL made.
    expect(shown.images[0]?.bytes).toBe(frame.images[0]?.imageBytes);
  });

  it('falls back to the trainer label, then to the index', () => {
    expect(classLabel([], 3, 'truck')).toBe('truck');
    expect(classLabel([], 3)).toBe('#3');
  });

  it('shows at most MAX_IMAGES_PER_FRAME images, the same object for the same frame', () => {
    const frame = imageFrame(7, 24);
    const shown = displayFrame(frame, CLASS_NAMES);
    expect(shown.images).toHaveLength(MAX_IMAGES_PER_FRAME);
    expect(displayFrame(frame, CLASS_NAMES)).toBe(shown);
    expect(displayFrame(frame, ['other'])).not.toBe(shown);
  });
});

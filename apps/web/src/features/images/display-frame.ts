import type { ImageFrame } from '@trainwatch/proto';

/** Most images shown from one frame (the server's default batch limit). */
export const MAX_IMAGES_PER_FRAME = 16;

/** One sample image ready to draw: its JPEG bytes and what to say under it. */
export interface DisplayImage {
  /** The JPEG as it came (no copy); decoded off the main thread when drawn. */
  bytes: Uint8Array;
  width: number;
  height: number;
  predictedLabel: string;
  /** 0..1 */
  confidence: number;
  groundTruthLabel: string;
  /** Undefined when the frame carries no ground truth for this image. */
  correct: boolean | undefined;
}

export interface DisplayFrame {
  frame: ImageFrame;
  images: readonly DisplayImage[];
}

/** Label of a class index: the configured name, else the trainer's label, else "#n". */
export function classLabel(classNames: readonly string[], index: number, fallback = ''): string {
  return classNames[index] || fallback || `#${index}`;
}

const shownFrames = new WeakMap<
  ImageFrame,
  { classNames: readonly string[]; shown: DisplayFrame }
>();

/**
 * The display form of `frame`: at most MAX_IMAGES_PER_FRAME images with
 * labels and verdicts. The same frame gives the same object (held weakly, so
 * nothing outlives the frame), and it holds no object URLs or bitmaps: the
 * tiles decode the bytes themselves.
 */
export function displayFrame(frame: ImageFrame, classNames: readonly string[]): DisplayFrame {
  const known = shownFrames.get(frame);
  if (known !== undefined && known.classNames === classNames) return known.shown;
  const shown: DisplayFrame = {
    frame,
    images: frame.images.slice(0, MAX_IMAGES_PER_FRAME).map((image, i) => {
      const prediction = frame.predictions[i];
      const truth = frame.groundTruth[i] as number | undefined;
      const predictedClass = prediction?.predictedClass;
      return {
        bytes: image.imageBytes,
        width: image.width,
        height: image.height,
        predictedLabel:
          predictedClass === undefined
            ? '?'
            : classLabel(classNames, predictedClass, prediction?.predictedLabel),
        confidence: prediction?.confidence ?? 0,
        groundTruthLabel: truth === undefined ? '—' : classLabel(classNames, truth),
        correct:
          truth === undefined || predictedClass === undefined
            ? undefined
            : truth === predictedClass,
      };
    }),
  };
  shownFrames.set(frame, { classNames, shown });
  return shown;
}

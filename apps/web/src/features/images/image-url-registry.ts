import type { ImageFrame } from '@trainwatch/proto';

/** Most images shown from one frame (the server's default batch limit). */
export const MAX_IMAGES_PER_FRAME = 16;

/** One sample image ready to render. */
export interface DisplayImage {
  url: string;
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

/**
 * Turns image frames into object URLs and revokes them when they are no
 * longer shown. At most two frames' worth are alive at once: the latest one
 * and, while frozen, the frame being inspected.
 */
export class ImageUrlRegistry {
  private current: DisplayFrame | undefined;
  private frozen: DisplayFrame | undefined;

  /** Object URLs currently alive (for tests and memory checks). */
  get liveUrlCount(): number {
    const frames = new Set(
      [this.current, this.frozen].filter((f): f is DisplayFrame => f !== undefined),
    );
    let count = 0;
    for (const frame of frames) count += frame.images.length;
    return count;
  }

  /** The display form of `frame`; the previous latest frame is released. */
  show(frame: ImageFrame, classNames: readonly string[]): DisplayFrame {
    if (this.current?.frame === frame) return this.current;
    // Release before creating, so no more than one frame's worth is alive
    // even for a moment.
    if (this.current && this.current !== this.frozen) release(this.current);
    this.current = {
      frame,
      images: frame.images.slice(0, MAX_IMAGES_PER_FRAME).map((image, i) => {
        const prediction = frame.predictions[i];
        const truth = frame.groundTruth[i] as number | undefined;
        const predictedClass = prediction?.predictedClass;
        return {
          // Copy into a fresh ArrayBuffer-backed array: Blob wants exactly that.
          url: URL.createObjectURL(
            new Blob([new Uint8Array(image.imageBytes)], { type: 'image/jpeg' }),
          ),
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
    return this.current;
  }

  /** Keeps the latest frame alive until {@link unfreeze}, whatever arrives next. */
  freeze(): DisplayFrame | undefined {
    this.frozen = this.current;
    return this.frozen;
  }

  unfreeze(): void {
    if (this.frozen && this.frozen !== this.current) release(this.frozen);
    this.frozen = undefined;
  }

  /** Revokes everything. */
  dispose(): void {
    this.unfreeze();
    if (this.current) release(this.current);
    this.current = undefined;
  }
}

function release(frame: DisplayFrame): void {
  for (const image of frame.images) URL.revokeObjectURL(image.url);
}

import { useEffect, useRef } from 'react';
import { tileBitmaps } from './bitmap-cache';
import { canDecodeBitmaps, TileDecoder } from './tile-decoder';

/**
 * One sample image on a canvas. The element stays while frames change; the
 * new picture is decoded off the main thread and painted over the old one
 * when ready (no blank between frames, no object URL, no image element to
 * load). `data-drawn` is the `frameKey` of the picture painted (tests and
 * benchmarks wait for it), absent until the first one.
 */
export function TileCanvas({
  bytes,
  width,
  height,
  label,
  frameKey,
}: {
  /** Names the frame the bytes belong to (its step); set as data-drawn once painted. */
  frameKey: string;
  bytes: Uint8Array;
  width: number;
  height: number;
  label: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const decoder = useRef<TileDecoder | undefined>(undefined);

  useEffect(() => {
    if (!canDecodeBitmaps()) return undefined;
    const created = new TileDecoder(
      (image, key) => {
        const element = canvas.current;
        const context = element?.getContext('2d');
        if (!element || !context) return;
        const width = 'displayWidth' in image ? image.displayWidth : image.width;
        const height = 'displayHeight' in image ? image.displayHeight : image.height;
        if (element.width !== width) element.width = width;
        if (element.height !== height) element.height = height;
        context.drawImage(image, 0, 0);
        element.dataset.drawn = key;
      },
      undefined,
      (key) => {
        // The same picture again: the canvas already shows it.
        if (canvas.current) canvas.current.dataset.drawn = key;
      },
      // The image history decodes the frames around its cursor ahead.
      (bytes) => tileBitmaps.ready(bytes),
    );
    decoder.current = created;
    return () => created.dispose();
  }, []);

  useEffect(() => {
    decoder.current?.show(bytes, frameKey);
  }, [bytes, frameKey]);

  return (
    <canvas
      ref={canvas}
      width={width || 1}
      height={height || 1}
      role="img"
      aria-label={label}
      data-testid="image-tile-canvas"
    />
  );
}

import type { ImageFrame } from '@trainwatch/proto';
import { useEffect, useState } from 'react';
import { displayFrame, type DisplayFrame, type DisplayImage } from './display-frame';
import { TileCanvas } from './tile-canvas';

export interface ImageGridProps {
  frame: ImageFrame | undefined;
  classNames: readonly string[];
}

function ImageTile({
  image,
  frameKey,
  onOpen,
}: {
  image: DisplayImage;
  frameKey: string;
  onOpen: () => void;
}) {
  const verdict = image.correct === undefined ? 'unknown' : image.correct ? 'correct' : 'wrong';
  return (
    <li className={`tile tile-${verdict}`} data-testid="image-tile" data-correct={verdict}>
      <button
        type="button"
        className="tile-button"
        onClick={onOpen}
        aria-label={`Enlarge: ${image.predictedLabel}`}
      >
        <TileCanvas
          frameKey={frameKey}
          bytes={image.bytes}
          width={image.width}
          height={image.height}
          label={`predicted ${image.predictedLabel}`}
        />
      </button>
      <div className="tile-caption">
        <span className="tile-mark" aria-hidden="true">
          {verdict === 'correct' ? '✓' : verdict === 'wrong' ? '✗' : '·'}
        </span>
        <span data-testid="image-label">{image.predictedLabel}</span>
        <span className="numeric muted">{(image.confidence * 100).toFixed(0)}%</span>
      </div>
      <div className="tile-truth small">
        truth: {image.groundTruthLabel}
        <span className="visually-hidden">
          {verdict === 'wrong' ? ' (wrong)' : verdict === 'correct' ? ' (correct)' : ''}
        </span>
      </div>
    </li>
  );
}

/** The larger view: one object URL, made when opened and revoked when closed. */
function EnlargedImage({ image }: { image: DisplayImage }) {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const made = URL.createObjectURL(
      new Blob([new Uint8Array(image.bytes)], { type: 'image/jpeg' }),
    );
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [image]);
  return url === undefined ? null : <img src={url} alt={`predicted ${image.predictedLabel}`} />;
}

/**
 * The latest sample images with predictions and ground truth. Freeze pins
 * the frame on screen while the run goes on; "wrong only" hides correct ones;
 * a click opens a larger view.
 */
export function ImageGrid({ frame, classNames }: ImageGridProps) {
  const [frozen, setFrozen] = useState<DisplayFrame>();
  const [wrongOnly, setWrongOnly] = useState(false);
  const [enlarged, setEnlarged] = useState<DisplayImage>();
  // Opening the larger view pins the frame; closing it unpins only if the
  // person had not frozen it themselves.
  const [frozeForLightbox, setFrozeForLightbox] = useState(false);

  const live = frame && !frozen ? displayFrame(frame, classNames) : undefined;
  const shown = frozen ?? live;
  const images = shown?.images.filter((image) => !wrongOnly || image.correct === false) ?? [];

  const toggleFreeze = (): void => {
    setFrozeForLightbox(false);
    setFrozen(frozen ? undefined : live);
  };

  const open = (image: DisplayImage): void => {
    if (!frozen) {
      setFrozen(live);
      setFrozeForLightbox(true);
    }
    setEnlarged(image);
  };
  const close = (): void => {
    if (frozeForLightbox) setFrozen(undefined);
    setFrozeForLightbox(false);
    setEnlarged(undefined);
  };

  return (
    <section className="panel" data-testid="image-grid">
      <header className="panel-header">
        <h2>Latest images</h2>
        <div className="controls">
          {shown && (
            <span className="muted small">
              epoch {shown.frame.epoch + 1}, batch {shown.frame.batchIdx + 1}
            </span>
          )}
          <label>
            <input
              type="checkbox"
              checked={wrongOnly}
              onChange={(event) => setWrongOnly(event.target.checked)}
            />
            Wrong only
          </label>
          <button
            type="button"
            onClick={toggleFreeze}
            aria-pressed={frozen !== undefined}
            disabled={!shown && !frozen}
          >
            {frozen ? 'Unfreeze' : 'Freeze'}
          </button>
        </div>
      </header>
      {!shown && <p className="muted">No images yet.</p>}
      {shown && images.length === 0 && <p className="muted">No wrong predictions in this batch.</p>}
      <ul className="tiles">
        {images.map((image, position) => (
          // Keyed by position: each tile's canvas persists across frames and keeps
          // its previous picture until the next one has decoded, off the main thread.
          <ImageTile
            key={position}
            image={image}
            frameKey={String(shown?.frame.step ?? '')}
            onOpen={() => open(image)}
          />
        ))}
      </ul>
      {enlarged && (
        <div
          className="overlay"
          role="dialog"
          aria-modal="true"
          aria-label="Image"
          data-testid="image-lightbox"
          onClick={close}
        >
          <figure className="lightbox" onClick={(event) => event.stopPropagation()}>
            <EnlargedImage image={enlarged} />
            <figcaption>
              predicted <strong>{enlarged.predictedLabel}</strong> (
              {(enlarged.confidence * 100).toFixed(1)}%), truth{' '}
              <strong>{enlarged.groundTruthLabel}</strong>
              {enlarged.correct === false && <span className="wrong-text"> — wrong</span>}
            </figcaption>
            <button type="button" onClick={close}>
              Close
            </button>
          </figure>
        </div>
      )}
    </section>
  );
}

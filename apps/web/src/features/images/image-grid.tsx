import type { ImageFrame } from '@trainwatch/proto';
import { useEffect, useState } from 'react';
import { ImageUrlRegistry, type DisplayFrame, type DisplayImage } from './image-url-registry';

export interface ImageGridProps {
  frame: ImageFrame | undefined;
  classNames: readonly string[];
}

function ImageTile({ image, onOpen }: { image: DisplayImage; onOpen: () => void }) {
  const verdict = image.correct === undefined ? 'unknown' : image.correct ? 'correct' : 'wrong';
  return (
    <li className={`tile tile-${verdict}`} data-testid="image-tile" data-correct={verdict}>
      <button
        type="button"
        className="tile-button"
        onClick={onOpen}
        aria-label={`Enlarge: ${image.predictedLabel}`}
      >
        <img
          src={image.url}
          width={image.width}
          height={image.height}
          alt={`predicted ${image.predictedLabel}`}
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

/**
 * The latest sample images with predictions and ground truth. Freeze pins
 * the frame on screen while the run goes on; "wrong only" hides correct ones;
 * a click opens a larger view.
 */
export function ImageGrid({ frame, classNames }: ImageGridProps) {
  const [registry, setRegistry] = useState<ImageUrlRegistry>();
  const [frozen, setFrozen] = useState<DisplayFrame>();
  const [wrongOnly, setWrongOnly] = useState(false);
  const [enlarged, setEnlarged] = useState<DisplayImage>();
  // Opening the larger view pins the frame so its URL stays alive; closing
  // it unpins only if the person had not frozen it themselves.
  const [frozeForLightbox, setFrozeForLightbox] = useState(false);

  // Created in an effect so an unmount (or React's dev double mount) always
  // revokes every URL this component made.
  useEffect(() => {
    const created = new ImageUrlRegistry();
    setRegistry(created);
    return () => created.dispose();
  }, []);

  const live = registry && frame && !frozen ? registry.show(frame, classNames) : undefined;
  const shown = frozen ?? live;
  const images = shown?.images.filter((image) => !wrongOnly || image.correct === false) ?? [];

  const toggleFreeze = (): void => {
    if (!registry) return;
    setFrozeForLightbox(false);
    if (frozen) {
      registry.unfreeze();
      setFrozen(undefined);
    } else {
      setFrozen(registry.freeze());
    }
  };

  const open = (image: DisplayImage): void => {
    if (registry && !frozen) {
      setFrozen(registry.freeze());
      setFrozeForLightbox(true);
    }
    setEnlarged(image);
  };
  const close = (): void => {
    if (registry && frozeForLightbox) {
      registry.unfreeze();
      setFrozen(undefined);
    }
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
          // Keyed by position, not URL: the <img> elements persist across frames,
          // so each keeps painting its previous picture until the next one has
          // decoded instead of flashing blank at every frame.
          <ImageTile key={position} image={image} onOpen={() => open(image)} />
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
            <img src={enlarged.url} alt={`predicted ${enlarged.predictedLabel}`} />
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

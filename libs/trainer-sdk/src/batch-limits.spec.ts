import { fitBatchSamples } from './batch-limits';

const image = (bytes: number) => ({ imageBytes: new Uint8Array(bytes), width: 1, height: 1 });
const prediction = { predictedClass: 0, confidence: 0.5 };

describe('fitBatchSamples', () => {
  it('leaves a batch within the limits alone', () => {
    const samples = { images: [image(10)], predictions: [prediction], groundTruth: [0] };
    expect(fitBatchSamples(samples, { maxImages: 16, maxMessageBytes: 4096 })).toEqual({
      ...samples,
      trimmed: false,
    });
  });

  it('keeps the first max_batch_size images with their predictions and ground truth', () => {
    const samples = {
      images: [image(1), image(2), image(3)],
      predictions: [prediction, prediction, prediction],
      groundTruth: [0, 1, 2],
    };
    const fitted = fitBatchSamples(samples, { maxImages: 2, maxMessageBytes: 4096 });
    expect(fitted.images.map((i) => i.imageBytes?.length)).toEqual([1, 2]);
    expect(fitted.groundTruth).toEqual([0, 1]);
    expect(fitted.predictions).toHaveLength(2);
    expect(fitted.trimmed).toBe(true);
  });

  it('drops every image when they would not fit one message, keeping the batch', () => {
    const samples = {
      images: [image(3000), image(3000)],
      predictions: [prediction, prediction],
      groundTruth: [1, 1],
    };
    expect(fitBatchSamples(samples, { maxImages: 16, maxMessageBytes: 4096 })).toEqual({
      images: [],
      predictions: [],
      groundTruth: [],
      trimmed: true,
    });
  });

  it('caps predictions without images, and knows no cap before the server answered', () => {
    const samples = {
      images: [],
      predictions: [prediction, prediction, prediction],
      groundTruth: [],
    };
    expect(
      fitBatchSamples(samples, { maxImages: 2, maxMessageBytes: 4096 }).predictions,
    ).toHaveLength(2);
    expect(fitBatchSamples(samples, { maxMessageBytes: 4096 })).toMatchObject({ trimmed: false });
  });
});

/**
 * CIFAR-10's labels in its class-index order, for `TrainingConfig.classNames`
 * of the many loops (and the demo run) that train on it.
 */
export const CIFAR10_CLASS_NAMES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

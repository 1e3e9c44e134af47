import { describe, expect, it } from 'vitest';
import { manifestPathFor } from './files.js';

describe('manifestPathFor (Python Path.with_suffix)', () => {
  it.each([
    ['model.onnx', 'model.manifest.json'],
    ['fraud-detector.onnx', 'fraud-detector.manifest.json'],
    ['models/a.tar.gz', 'models/a.tar.manifest.json'],
    ['/abs/dir/m.bin', '/abs/dir/m.manifest.json'],
    ['model', 'model.manifest.json'],
    ['.hidden', '.hidden.manifest.json'],
    ['dir.v2/model', 'dir.v2/model.manifest.json'],
    ['./m.pt', 'm.manifest.json'],
  ])('%s → %s', (model, want) => {
    expect(manifestPathFor(model)).toBe(want);
  });
});
